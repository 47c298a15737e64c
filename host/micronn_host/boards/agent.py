"""A board that runs lib/micronn: the host's side of the on-board agent (firmware/mnn_agent.py).

Each job is one call of the agent, whose results and progress come back as tagged lines
(boards/lines.py); files travel through the transport's put and get.  Board errors come back
as tracebacks and leave here as MicronnError subclasses with one-line messages.
"""
import array
import base64
import json

from ..errors import BoardError, MicronnError, NotDeployed
from .base import Board, Capabilities
from .lines import STOP_BYTE, Lines

DATA_PATH = "/data/train.mnd"
PREDICT_PATH = "/data/predict.mnd"
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

    def call(self, call, on_line=None, timeout=30.0, interruptible=False, **stop):
        """Run mnn_agent.<call> on the board; return the JSON of its result line.

        on_line(tag, text) sees every other "@" line as it arrives.  stop: stop_byte and on_stop
        for RawRepl.exec.
        """
        lines = Lines(on_line)
        try:
            self.repl.exec("import mnn_agent\nmnn_agent.%s" % call, on_output=lines.feed,
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
            d = self.call("info()")
        except NotDeployed:            # the agent is missing: ask the board directly
            d = {"micronn": None, "agent": None, "models": [], "leftovers": None,
                 "free": int(self.exec("import gc\ngc.collect()\nprint(gc.mem_free())").decode())}
        d.update(self.identity())
        if d["virtual"] and "flash_free" in d:      # its files are in a directory here
            d["host_disk_free"] = d.pop("flash_free")
        d.update(port=self.port, mpy=mpy, native=native)
        return d

    def clean(self):
        """Remove what cut-short saves and uploads left (mnn_agent.leftovers); a model whose
        rename was cut short is put in place.  Returns {removed, recovered}."""
        return self.call("clean()")

    def deploy(self, source=False, native=True, out=print):
        from . import deploy
        deploy.run(self, source=source, native=native, out=out)

    def train(self, job, X, Y, model, checkpoint_s, ev, out=print):
        from .. import dataset
        self.check_job(job)
        path = self.where(model)
        blob = dataset.pack(X, Y)
        self.repl.put(DATA_PATH, blob)
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

        call = "train(%r, %r, %r, %r, %r)" % (DATA_PATH, model, job, checkpoint_s, STOP_BYTE)
        return self.call(call, on_line=on_line, timeout=None, interruptible=True,
                         stop_byte=STOP_BYTE, on_stop=ev.stop_wait)

    def fetch(self, model):
        path = self.where(model)
        if self.repl.size(path) < 0:
            self.call("info()")                     # NotDeployed, if that is the problem
            raise MicronnError("no model %s on the board%s" % (path, self._listing()))
        return self.repl.get(path), path

    def _listing(self):
        names = sorted(self.repl.listdir("/models")) if self.repl.size("/models") >= 0 else []
        return " (/models holds: %s)" % (", ".join(names) or "nothing") if names else " (there are no models)"

    def push(self, model, data, net):
        path = self.where(model)
        self.repl.put(path + ".new", data)
        self.call("install(%r, %r)" % (path + ".new", path))
        return path

    def inputs(self, model):
        path = self.where(model)
        models = self.call("info()")["models"]
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
        self.repl.put(PREDICT_PATH, dataset.pack(X))
        rows = []
        self.call("predict(%r, %r)" % (model, PREDICT_PATH),
                  on_line=lambda tag, text: rows.append(json.loads(text)) if tag == "@O" else None)
        return rows

    def bench(self):
        info = self.call("info()")
        if not info.get("micronn"):
            raise NotDeployed("micronn is not on the board at %s (%s): run `micronn deploy`"
                              % (self.port, info.get("micronn_error", "it does not import")))
        return info
