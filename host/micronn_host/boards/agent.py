"""A board that runs lib/micronn: the host's side of the on-board agent (firmware/mnn_agent.py).

Each job is one call of the agent, whose results and progress come back as tagged lines
(boards/lines.py); files travel through the transport's put and get.  Board errors come back
as tracebacks and leave here as MicronnError subclasses with one-line messages.
"""
import array
import base64
import json

from ..errors import BoardError, MicronnError, NoRoom, NotDeployed
from .base import Board, Capabilities
from .lines import STOP_BYTE, Lines

DATA_PATH = "/data/train.mnd"
VAL_PATH = "/data/val.mnd"
PREDICT_PATH = "/data/predict.mnd"
EVAL_PATH = "/data/eval.mnd"
# Data at least this large (bytes) is not sent for a training the board's heap cannot hold: the
# board is asked first (mnn_agent.check_training), which costs a round trip and importing micronn
# there, less than sending this much over a serial line.
HEAP_CHECK_BYTES = 8192
# the probe of what the board runs: its .mpy version and whether it compiles viper code
PROBE = """import sys
m = getattr(sys.implementation, '_mpy', 0)
try:
    exec('@micropython.viper\\ndef _mnn_v(x:int)->int:\\n return x\\n')
    n = 1
except Exception:
    n = 0
print(m, n)
"""
# what the board is: MicroPython's version, its build, the machine, sys.platform
IDENTITY = """import sys, os
try:
    u = os.uname()
    b, m = u.version, u.machine
except AttributeError:
    b, m = sys.version.split('MicroPython ')[-1], getattr(sys.implementation, '_machine', '')
print(repr((tuple(sys.implementation.version), b, m, sys.platform)))
"""
#: sys.platform of MicroPython's unix port (and the Windows port): not a board, a virtual one
HOST_PORTS = ("linux", "darwin", "freebsd", "netbsd", "openbsd", "win32", "windows", "cygwin")


def model_path(name):
    if not name or "/" in name or name.startswith("."):
        raise MicronnError("--model %r: a model name is a plain file name without '/'" % name)
    return "/models/%s.mnn" % name


class AgentBoard(Board):
    """A board with lib/micronn and the agent, behind a transport connect() has opened."""

    def __init__(self, repl, platform, heap):
        self.repl = repl
        self.port = repl.port
        self.caps = Capabilities(platform, heap, repl.max_command)

    def exec(self, code, **kw):
        return self.repl.exec(code, **kw)

    def probe(self):
        """(the board's sys.implementation._mpy, whether it compiles viper code)."""
        mpy, native = self.exec(PROBE).decode().split()
        return int(mpy), bool(int(native))

    def call(self, call, on_line=None, timeout=30.0, interruptible=False, module="mnn_agent", **stop):
        """Run mnn_agent.<call> (or module.<call>) on the board; return the JSON of its result line.

        on_line(tag, text) sees every other "@" line as it arrives.  stop: stop_byte and on_stop
        for RawRepl.exec.
        """
        lines = Lines(on_line)
        try:
            self.repl.exec("import %s\n%s.%s" % (module, module, call), on_output=lines.feed,
                           timeout=timeout, interruptible=interruptible, **stop)
        except BoardError as e:
            raise self.explain(e)
        lines.end()
        if lines.result is None:
            raise MicronnError("the board's agent sent no result for %s" % call.split("(")[0])
        return lines.result

    def explain(self, e):
        """A board exception as the error to show."""
        msg = str(e)
        if e.exc_type == "ImportError":
            if "mnn_agent" in msg or "mnn_rows" in msg or "mnn_admin" in msg:
                return NotDeployed("the micronn agent is not on the board at %s: run `micronn deploy`" % self.port)
            if "micronn" in msg:
                return NotDeployed("micronn is not on the board at %s: run `micronn deploy`" % self.port)
        if e.exc_type == "MemoryError":
            return BoardError(e.exc_type, "not enough memory on the board: %s"
                              % (msg if msg != "MemoryError" else "an allocation failed"), e.traceback)
        if e.exc_type == "ValueError":
            return e
        return BoardError(e.exc_type, "the board raised %s: %s" % (e.exc_type, msg), e.traceback)

    # -- the jobs ------------------------------------------------------------------------------

    def where(self, model):
        return model_path(model)

    def identity(self):
        """{version, release, machine, platform, virtual} of the board, in words: MicroPython's
        version with its build ("1.22.0 (v1.22.0 on 2024-01-01)"; sys.version starts with the
        Python language version instead), the board or machine name, and whether it is the
        unix port behind a pty (`micronn sim`), whose disk is this computer's."""
        import ast
        version, build, machine, platform = ast.literal_eval(self.exec(IDENTITY).decode().strip())
        release = ".".join(str(v) for v in version[:3])
        full = release + ("-%s" % version[3] if len(version) > 3 and version[3] else "")
        virtual = platform in HOST_PORTS
        if virtual:     # _machine is the end of the unix port's banner: "linux [GCC 14.2.1] version"
            compiler = machine[machine.find("[") + 1:machine.find("]")] if "[" in machine else ""
            machine = "unix port on %s%s" % (platform, " (%s)" % compiler if compiler else "")
        return {"version": "%s (%s)" % (full, build.strip()), "release": release, "machine": machine,
                "platform": platform, "virtual": virtual}

    def info(self):
        mpy, native = self.probe()
        try:
            d = self._admin_info()
        except NotDeployed:            # the agent is missing: ask the board directly
            d = {"micronn": None, "agent": None, "models": [], "leftovers": None,
                 "free": int(self.exec("import gc\ngc.collect()\nprint(gc.mem_free())").decode())}
        d.update(self.identity())
        if d["virtual"] and "flash_free" in d:      # its files are in a directory here
            d["host_disk_free"] = d.pop("flash_free")
        d.update(port=self.port, mpy=mpy, native=native)
        return d

    def _admin_info(self):
        """mnn_admin.info()'s result, with the models it sends a line each ("@M") as "models"
        (an agent before version 4 puts them in the result)."""
        found = []

        def on_line(tag, text):
            if tag == "@M":
                found.append(json.loads(text))
        d = self.call("info()", module="mnn_admin", on_line=on_line)
        d.setdefault("models", found)
        return d

    def clean(self):
        """Remove what cut-short saves and uploads left (mnn_agent.leftovers); a model whose
        rename was cut short is put in place.  Returns {removed, recovered}."""
        return self.call("clean()", module="mnn_admin")

    def deploy(self, source=False, native=True, out=print):
        from . import deploy
        deploy.run(self, source=source, native=native, out=out)

    def train(self, job, X, Y, model, checkpoint_s, ev, out=print, Xv=None, Yv=None, meta=None, resume=False,
              replace=False):
        from .. import dataset
        self.check_job(job, validation=Xv is not None, resume=resume, meta=meta)
        path = self.where(model)
        blob = dataset.pack(X, Y)
        if len(blob) >= HEAP_CHECK_BYTES:
            self.check_heap(job, len(X), 0 if Xv is None else len(Xv))
        self.send_rows(DATA_PATH, blob, len(X))
        sent = "sent %d samples (%d bytes) to %s:%s" % (len(X), len(blob), self.port, DATA_PATH)
        val = None
        if Xv is not None:
            vblob = dataset.pack(Xv, Yv)
            self.send_rows(VAL_PATH, vblob, len(Xv))
            val = VAL_PATH
            sent += " and %d validation rows (%d bytes) to %s" % (len(Xv), len(vblob), VAL_PATH)
        out(sent)
        self.repl.enter(soft_reset=True)    # the uploads' code leaves the heap in pieces: train in a whole one
        scores = []

        def on_line(tag, text):
            if tag == "@S":
                info = json.loads(text)
                ev.started(info["params"], info["free"], info.get("stoppable", False), info.get("before", 0))
            elif tag == "@V":
                ms, b64 = text.split(" ", 1)
                v = array.array("f", base64.b64decode(b64))
                scores[:] = [dict(zip(("val_loss", "accuracy", "val_accuracy"), v[i:i + 3]))
                             for i in range(0, len(v), 3)]
            elif tag == "@L":
                ms, b64 = text.split(" ", 1)
                ev.losses(array.array("f", base64.b64decode(b64)), int(ms), scores or None)
                scores[:] = []
            elif tag == "@C":
                ev.checkpoint(int(text), path)
            elif tag == "@W":
                ev.warn(text)

        call = "train(%r, %r, %r, %r, %r, %r, %r, %r, %r)" % (DATA_PATH, model, job, checkpoint_s, STOP_BYTE, val,
                                                          meta, resume, replace)
        return self.call(call, on_line=on_line, timeout=None, interruptible=True,
                         stop_byte=STOP_BYTE, on_stop=ev.stop_wait)

    def send_rows(self, path, blob, rows):
        """Send a data file of `rows` rows in place of the last one of its name, which goes first
        when the flash cannot hold both (it is only the rows of an earlier job); when it does not
        fit at all, say how many rows would."""
        try:
            self.repl.put(path, blob, disposable=True)
        except NoRoom as e:
            per = max(1, len(blob) // rows)
            if e.free < 0:
                raise
            raise NoRoom("%s; at %d bytes a row, about %d rows would fit" % (e, per, e.free * 9 // 10 // per), e.free)

    def check_heap(self, job, n, nv):
        """Refuse, before the rows are sent, a training job of n rows (nv hold-out rows) that the
        board's heap cannot hold (the same check and message as train's)."""
        try:
            self.call("check_training(%r, %r, %r)" % (job, n, nv))
        except BoardError as e:
            if e.exc_type == "AttributeError" and "check_training" in str(e):
                raise NotDeployed("the micronn agent on the board at %s is older than this micronn: run "
                                  "`micronn deploy`" % self.port)
            raise

    def describe(self, model):
        """The header of model NAME on the board as a dict (layers, activations, classes, inputs,
        targets, summary, scaling kind), or None when it has no such model."""
        self.where(model)
        info = self.call("describe(%r)" % model, module="mnn_admin")
        return None if info.get("missing") else info

    def evaluate(self, model, X, Y, classes=None, targets=None):
        """Model NAME's metrics on rows X, Y (micronn.metrics' report, with the names the model on
        the board has), computed on the board, which reads the rows from its flash in chunks."""
        from .. import dataset
        self.where(model)
        self.send_rows(EVAL_PATH, dataset.pack(X, Y), len(X))
        self.repl.enter(soft_reset=True)    # a whole heap, not the one the upload left in pieces
        return self.call("evaluate(%r, %r)" % (model, EVAL_PATH), timeout=None, interruptible=True,
                         module="mnn_rows")

    def record(self, source, label, rate, rows, seconds, window, on_row):
        """Run mnn_agent.record on the board; on_row(ms, values) sees each row as it arrives.
        Returns {rows, readings, span_ms, stopped}."""
        def on_line(tag, text):
            if tag == "@D":
                ms, _, rest = text.partition(" ")
                on_row(int(ms), [float(v) for v in rest.split()])
        call = "record(%r, %r, %r, %r, %r, %r, %r)" % (source, label, rate, rows, seconds, window, STOP_BYTE)
        return self.call(call, on_line=on_line, timeout=None, interruptible=True, stop_byte=STOP_BYTE,
                         on_stop=lambda: 5.0 + 2.0 / rate, module="mnn_rows")

    def fetch(self, model):
        path = self.where(model)
        if self.repl.size(path) < 0:
            self.call("info()", module="mnn_admin")                     # NotDeployed, if that is the problem
            raise MicronnError("no model %s on the board%s" % (path, self._listing()))
        return self.repl.get(path), path

    def _listing(self):
        names = sorted(self.repl.listdir("/models")) if self.repl.size("/models") >= 0 else []
        return " (/models holds: %s)" % (", ".join(names) or "nothing") if names else " (there are no models)"

    def push(self, model, data, net):
        path = self.where(model)
        self.repl.put(path + ".new", data)
        self.repl.enter(soft_reset=True)    # a whole heap to load the model in, not the upload's pieces
        self.call("install(%r, %r)" % (path + ".new", path), module="mnn_admin")
        return path

    def inputs(self, model):
        path = self.where(model)
        models = self._admin_info()["models"]
        for m in models:
            if "/models/%s.mnn" % m["name"] == path:
                if "layers" not in m or m.get("state", "ok") != "ok":
                    raise MicronnError("%s on the board is damaged: %s" % (path, m.get("error")))
                return m["layers"][0]
        raise MicronnError("no model %s on the board (models there: %s)"
                           % (path, ", ".join(m["name"] for m in models) or "none; train or push one first"))

    def predict(self, model, X):
        from .. import dataset
        self.where(model)
        self.send_rows(PREDICT_PATH, dataset.pack(X), len(X))
        self.repl.enter(soft_reset=True)    # a whole heap, not the one the upload left in pieces
        rows = []
        self.call("predict(%r, %r)" % (model, PREDICT_PATH), module="mnn_rows",
                  on_line=lambda tag, text: rows.append(json.loads(text)) if tag == "@O" else None)
        return rows

    def bench(self):
        info = self.call("info()", module="mnn_admin")
        if not info.get("micronn"):
            raise NotDeployed("micronn is not on the board at %s (%s): run `micronn deploy`"
                              % (self.port, info.get("micronn_error", "it does not import")))
        return info
