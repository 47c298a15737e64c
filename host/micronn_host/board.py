"""The boards the commands drive, and the host's side of the on-board agent (firmware/mnn_agent.py).

connect() opens the port, asks the board what it is (a command short enough for any board,
before anything big is sent) and returns the object the commands use:

- Board: a board that runs lib/micronn (deployed by `micronn deploy`) and the agent; each job
  is one agent call, with results and progress as "@" lines;
- microbit.TinyBoard: a board too small for lib/micronn (the BBC micro:bit), which runs a
  program the host generates for each model.

Both answer the same methods (info, deploy, train, fetch, push, inputs, predict, where), so
the commands do not care which board it is; both speak through the same raw-REPL transport.
Board errors come back as tracebacks and leave here as MicronnError subclasses with one-line
messages.
"""
import array
import base64
import json
import zlib

from .errors import BoardError, MicronnError, NotDeployed
from .transport import ports
from .transport.rawrepl import RawRepl

CHUNK = 384                 # bytes per upload line (512 base64 characters)
DATA_PATH = "/data/train.mnd"
PREDICT_PATH = "/data/predict.mnd"
STOP_BYTE = b"\x1a"         # asks a training job to stop between epochs


def connect(port=None, soft_reset=False):
    """The board at port (see the module docstring); soft_reset gives it a fresh heap first."""
    repl = RawRepl(ports.resolve(port))
    try:
        repl.enter(soft_reset=soft_reset)
        platform, free = repl.identify()
        from .microbit import TinyBoard, is_tiny
        if is_tiny(platform, free):
            return TinyBoard(repl, free if soft_reset else None)
        return Board(repl=repl)
    except BaseException:
        repl.close()
        raise


def board_model(name):
    if not name or "/" in name or name.startswith("."):
        raise MicronnError("--model %r: a model name is a plain file name without '/'" % name)
    return "/models/%s.mnn" % name


class Connected:
    """A board behind an open transport (self.repl), as the commands use it.  Board and
    microbit.TinyBoard answer: where(model), info(), deploy(source, native, out),
    train(job, X, Y, model, checkpoint_s, ev, out), fetch(model), push(model, data, net),
    inputs(model), predict(model, X)."""

    tiny = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.repl.close()


class Board(Connected):
    """A board with lib/micronn and the agent.  Board(port) opens the port itself (for tools
    that know the board runs the agent); connect() hands over a transport it has opened."""

    def __init__(self, port=None, soft_reset=False, repl=None):
        if repl is None:
            repl = RawRepl(ports.resolve(port))
            try:
                repl.enter(soft_reset=soft_reset)
            except BaseException:
                repl.close()
                raise
        self.repl = repl
        self.port = repl.port

    def exec(self, code, **kw):
        return self.repl.exec(code, **kw)

    def call(self, call, on_line=None, timeout=30.0, interruptible=False, module="mnn_agent", **stop):
        """Run module.<call> on the board; return the JSON of its last "@R" line.

        on_line(tag, text) sees every other "@" line as it arrives.  module=None calls a function
        already defined in the REPL's namespace.  stop: stop_byte and on_stop for RawRepl.exec.
        """
        lines = _Lines(on_line)
        code = "import %s\n%s.%s" % (module, module, call) if module else call
        try:
            self.repl.exec(code, on_output=lines.feed,
                           timeout=timeout, interruptible=interruptible, **stop)
        except BoardError as e:
            raise self.explain(e)
        lines.feed(b"\n")
        if lines.result is None:
            raise MicronnError("the board's agent sent no result for %s" % call.split("(")[0])
        return lines.result

    @property
    def interrupted(self):
        return self.repl.interrupted

    def explain(self, e):
        """A board exception as the error to show."""
        msg = str(e)
        if e.exc_type == "ImportError":
            if "mnn_agent" in msg:
                return NotDeployed("the micronn agent is not on the board at %s: run `micronn deploy`" % self.port)
            if "micronn" in msg:
                return NotDeployed("micronn is not on the board at %s: run `micronn deploy`" % self.port)
        if e.exc_type == "MemoryError":
            return BoardError(e.exc_type, "not enough memory on the board: %s"
                              % (msg if msg != "MemoryError" else "an allocation failed"), e.traceback)
        if e.exc_type == "ValueError":
            return e
        return BoardError(e.exc_type, "the board raised %s: %s" % (e.exc_type, msg), e.traceback)

    # -- files ---------------------------------------------------------------------------------

    def upload(self, path, data, on_progress=None, module="mnn_agent"):
        """Write bytes to a board file; the board replaces the file only when all of it arrived."""
        chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
        state = {"next": 0}

        def on_line(tag, text):
            if tag == "@A":
                k = state["next"]
                if k < len(chunks):
                    self.repl.write(base64.b64encode(chunks[k]) + b"\n")
                    state["next"] = k + 1
                    if on_progress:
                        on_progress(min(len(data), (k + 1) * CHUNK), len(data))

        return self.call("recv(%r, %d, %d)" % (path, len(data), zlib.crc32(data)), on_line=on_line,
                         module=module)

    def download(self, path, on_progress=None):
        """Read a board file; its CRC is checked before anything is returned."""
        parts = []
        got = [0, 0]

        def on_line(tag, text):
            if tag == "@S":
                got[1] = json.loads(text)["size"]
            elif tag == "@D":
                chunk = base64.b64decode(text)
                parts.append(chunk)
                got[0] += len(chunk)
                if on_progress:
                    on_progress(got[0], got[1])

        res = self.call("send(%r)" % path, on_line=on_line)
        data = b"".join(parts)
        if len(data) != res["size"] or zlib.crc32(data) != res["crc"]:
            raise MicronnError("%s arrived damaged (%d bytes, CRC %08x; the board has %d bytes, CRC %08x)"
                               % (path, len(data), zlib.crc32(data), res["size"], res["crc"]))
        return data

    # -- what the commands ask of a board (microbit.TinyBoard answers the same) ---------------------

    def where(self, model):
        """Where model NAME lives on the board, in words."""
        return board_model(model)

    def info(self):
        from .deploy import PROBE
        try:
            d = self.call("info()")
        except NotDeployed:
            mpy, native = self.exec(PROBE).decode().split()
            d = {"micronn": None, "agent": None, "mpy": int(mpy), "native": bool(int(native)),
                 "version": self.exec("import sys\nprint(sys.version)").decode().strip(),
                 "free": int(self.exec("import gc\ngc.collect()\nprint(gc.mem_free())").decode()),
                 "models": []}
        d["port"] = self.port
        return d

    def deploy(self, source=False, native=True, out=print):
        from . import deploy
        deploy.run(self, source=source, native=native, out=out)

    def train(self, job, X, Y, model, checkpoint_s, ev, out=print):
        """Train job (train.Spec) on X, Y as model NAME; ev (train.Progress) hears of the start,
        the losses and the checkpoints, and says how long a stop may take.  Returns the agent's
        result: epochs, loss, ms, model (where it is saved), stopped, interrupted, saved (the
        epoch of the last checkpoint)."""
        from . import dataset
        path = self.where(model)
        blob = dataset.pack(X, Y)
        self.upload(DATA_PATH, blob)
        out("sent %d samples (%d bytes) to %s:%s" % (len(X), len(blob), self.port, DATA_PATH))

        def on_line(tag, text):
            if tag == "@S":
                info = json.loads(text)
                ev.started(info["params"], info["free"], info.get("stoppable", False))
            elif tag == "@L":
                ms, b64 = text.split(" ", 1)
                ev.losses(array.array("f", base64.b64decode(b64)), int(ms))
            elif tag == "@C":
                ev.checkpoint(int(text), path)

        call = ("train(%r, %r, %r, activation=%r, output=%r, loss=%r, epochs=%d, lr=%r, batch_size=%r, "
                "bias=%r, seed=%r, optimizer=%r, init=%r, every=%d, save_s=%r, stop=%r)"
                % (DATA_PATH, model, job.layers, job.activation, job.output, job.loss, job.epochs,
                   job.lr, job.batch_size, job.bias, job.seed, job.optimizer, job.init,
                   job.every, checkpoint_s, STOP_BYTE))
        return self.call(call, on_line=on_line, timeout=None, interruptible=True,
                         stop_byte=STOP_BYTE, on_stop=ev.stop_wait)

    def fetch(self, model):
        """(bytes of model NAME, where it is): the transfer's size and CRC checked."""
        path = self.where(model)
        return self.download(path), path

    def push(self, model, data, net):
        """Install the .mnn bytes as model NAME once the board has loaded them; returns where."""
        path = self.where(model)
        self.upload(path + ".new", data)
        self.call("install(%r, %r)" % (path + ".new", path))
        return path

    def inputs(self, model):
        """How many inputs model NAME on the board takes."""
        path = self.where(model)
        models = self.call("info()")["models"]
        for m in models:
            if "/models/%s.mnn" % m["name"] == path:
                if "layers" not in m:
                    raise MicronnError("%s on the board is damaged: %s" % (path, m.get("error")))
                return m["layers"][0]
        raise MicronnError("no model %s on the board (models there: %s)"
                           % (path, ", ".join(m["name"] for m in models) or "none; train or push one first"))

    def predict(self, model, X):
        """Model NAME's outputs on the board for each row of X (a list of lists)."""
        from . import dataset
        self.where(model)
        self.upload(PREDICT_PATH, dataset.pack(X))
        rows = []
        self.call("predict(%r, %r)" % (model, PREDICT_PATH),
                  on_line=lambda tag, text: rows.append(json.loads(text)) if tag == "@O" else None)
        return rows


class _Lines:
    """Split streamed output into lines; keep the last "@R" result, pass other "@" lines on
    (or, given tags, the lines whose first word is one of them)."""

    def __init__(self, on_line, tags=None):
        self.buf = bytearray()
        self.on_line = on_line
        self.tags = tags
        self.result = None

    def feed(self, data):
        self.buf += data
        while True:
            cut = self.buf.find(b"\n")
            if cut < 0:
                return
            line = self.buf[:cut].decode("utf-8", "replace").strip()
            del self.buf[:cut + 1]
            tag, _, text = line.partition(" ")
            if self.tags is not None:
                if tag in self.tags:
                    self.on_line(tag, text)
            elif tag == "@R":
                self.result = json.loads(text)
            elif tag.startswith("@") and self.on_line:
                self.on_line(tag, text)
