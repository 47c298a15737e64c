"""The host's side of the on-board agent (firmware/mnn_agent.py): calls, results, file transfer.

Commands use a Board; a Board uses the raw-REPL transport.  Board errors come back as
tracebacks and leave here as MicronnError subclasses with one-line messages.
"""
import base64
import json
import zlib

from .errors import BoardError, MicronnError, NotDeployed
from .transport import ports
from .transport.rawrepl import RawRepl

CHUNK = 384                 # bytes per upload line (512 base64 characters)


class Board:
    def __init__(self, port=None, soft_reset=False):
        self.port = ports.resolve(port)
        self.repl = RawRepl(self.port)
        try:
            self.repl.enter(soft_reset=soft_reset)
        except BaseException:
            self.repl.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.repl.close()

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


class _Lines:
    """Split streamed output into lines; keep the last "@R" result, pass other "@" lines on."""

    def __init__(self, on_line):
        self.buf = bytearray()
        self.on_line = on_line
        self.result = None

    def feed(self, data):
        self.buf += data
        while True:
            cut = self.buf.find(b"\n")
            if cut < 0:
                return
            line = self.buf[:cut].decode("utf-8", "replace").strip()
            del self.buf[:cut + 1]
            if not line.startswith("@"):
                continue
            tag, _, text = line.partition(" ")
            if tag == "@R":
                self.result = json.loads(text)
            elif self.on_line:
                self.on_line(tag, text)
