"""The virtual board's REPL: runs inside the MicroPython unix port, behind `micronn sim`.

The unix port has no raw REPL, so this module provides what a board's firmware does over its
USB serial line: the friendly REPL, the raw REPL (Ctrl-A) with raw-paste (Ctrl-E A Ctrl-A), and
soft reset (Ctrl-D), which exits the process so that the supervisor can start a fresh one with
a clean heap, as a real board does.  Board paths ("/", "/lib", ...) are mounted from the
board's directory on the host.

Protocol with the supervisor: stdin/stdout are pipes carrying the serial bytes (the supervisor
turns "\\n" into "\\r\\n" like a board's cooked output); a status pipe gets b"B" when code
starts running and b"I" when it stops, so that a Ctrl-C from the host is delivered as SIGINT
(KeyboardInterrupt) only while code runs, and as a plain byte otherwise; b"K" when a
KeyboardInterrupt landed where MicroPython would lose it (BoardFs.stat), to have it sent again.  Exit codes tell the
supervisor how to come back: SOFT_FRIENDLY or SOFT_RAW.
"""
import gc
import os
import sys

SOFT_FRIENDLY = 80
SOFT_RAW = 81
RAW_BANNER = b"raw REPL; CTRL-B to exit\n"
WINDOW = 256            # raw-paste flow-control window, bytes

_in = sys.stdin.buffer
_out = sys.stdout.buffer


def _w(b):
    _out.write(b)


class BoardFs:
    """VfsPosix rooted at the board directory, with a working rename.

    VfsPosix builds both paths of rename() in one buffer when it has a root, so
    rename("/a", "/b") renames "/b" onto itself; renaming by paths relative to the root works.
    """

    def __init__(self, root, status=None):
        v = self.v = os.VfsPosix(root)
        self.status = status
        for name in ("open", "mkdir", "remove", "rmdir", "statvfs", "getcwd", "chdir"):
            setattr(self, name, getattr(v, name))

    def stat(self, path):
        """VfsPosix's stat.  An import looks for a module's files with it (for a module built
        in like array or binascii, every time) and MicroPython's import takes any exception
        from a filesystem written in Python for "no such file", a KeyboardInterrupt too: the
        unix port raises it from its SIGINT handler wherever the code is, so a Ctrl-C that came
        during such a look-up was lost and the code ran on.  One that comes here is handed back
        (b"K" on the status pipe) and the supervisor sends it again, as a board raises a Ctrl-C
        at the next point its VM checks."""
        owed = False
        while True:
            try:
                if owed:
                    self.status.write(b"K")
                    owed = False
                return self.v.stat(path)
            except KeyboardInterrupt:
                if self.status is None:
                    raise
                owed = True

    def ilistdir(self, path):
        """(name, type, inode, size) like a board's filesystems (VfsPosix leaves out the size)."""
        base = path.rstrip("/") + "/"
        for entry in self.v.ilistdir(path):
            size = 0 if entry[1] == 0x4000 else self.v.stat(base + entry[0])[6]
            yield (entry[0], entry[1], entry[2], size)

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def rename(self, a, b):
        cwd = self.v.getcwd() or "/"     # "" at the root
        if a[:1] != "/":
            a = cwd.rstrip("/") + "/" + a
        if b[:1] != "/":
            b = cwd.rstrip("/") + "/" + b
        self.v.chdir("/")
        try:
            self.v.rename(a.lstrip("/"), b.lstrip("/"))
        finally:
            self.v.chdir(cwd)


class Firmware:
    def __init__(self, status, banner):
        self.status = status
        self.banner = banner
        self.g = {"__name__": "__main__"}

    def run(self, src, mode):
        """Compile and run src; return None or the exception it raised."""
        try:
            self.status.write(b"B")
            try:
                exec(compile(src, "<stdin>", mode), self.g)
            finally:
                self.status.write(b"I")
        except SystemExit:
            raise
        except BaseException as e:      # KeyboardInterrupt included, as on a board
            if isinstance(e, KeyboardInterrupt):
                # The unix port can raise it from its SIGINT handler in the middle of a garbage
                # collection, which then leaves the heap locked ("heap is locked" on every
                # allocation after); a whole collection clears that.  A board raises it only
                # where its VM checks for it.
                gc.collect()
            return e
        return None

    def run_file(self, path):
        """Run /boot.py or /main.py if the board has it, as a board's firmware does."""
        try:
            os.stat(path)
        except OSError:
            return
        with open(path) as f:
            exc = self.run(f.read(), "exec")
        if exc is not None:
            sys.print_exception(exc, sys.stdout)

    def read1(self):
        while True:
            try:
                c = _in.read(1)
                break
            except KeyboardInterrupt:   # a late SIGINT meant for code that just finished
                pass
        if not c:
            sys.exit(0)                 # the supervisor has gone
        return c[0]

    # -- raw REPL --------------------------------------------------------------------------------

    def raw(self):
        """Run the raw REPL until Ctrl-B; Ctrl-D on an empty line means soft reset."""
        _w(RAW_BANNER)
        while True:
            _w(b">")
            line = bytearray()
            while True:
                c = self.read1()
                if c == 1:
                    _w(RAW_BANNER)
                    line = None
                    break
                if c == 2:
                    _w(b"\n")
                    return
                if c == 3:
                    line = bytearray()
                elif c == 4:
                    break
                elif c == 5 and not line:
                    line = self.raw_paste()
                    if line is not None:
                        break
                else:
                    line.append(c)
            if line is None:
                continue
            if not isinstance(line, bytes):     # raw paste sends no OK
                _w(b"OK")
                if not line:
                    _w(b"\n")
                    sys.exit(SOFT_RAW)
            self.report(self.run(bytes(line), "exec"))
            gc.collect()

    def raw_paste(self):
        """Ctrl-E seen: negotiate raw-paste; return the source (bytes) or None."""
        if self.read1() != ord("A") or self.read1() != 1:
            _w(b"R\x00")
            return None
        _w(b"R\x01" + bytes((WINDOW & 255, WINDOW >> 8)))
        data = bytearray()
        got = 0
        while True:
            c = self.read1()
            if c == 4:
                _w(b"\x04")
                return bytes(data)
            if c == 3:                  # abort the paste
                _w(b"\x04")
                return b""
            data.append(c)
            got += 1
            if got == WINDOW:
                got = 0
                _w(b"\x01")

    def report(self, exc):
        try:
            _w(b"\x04")
            if exc is not None:
                sys.print_exception(exc, sys.stdout)
            _w(b"\x04")
        except KeyboardInterrupt:
            _w(b"\x04")

    # -- friendly REPL -----------------------------------------------------------------------------

    def friendly(self):
        """A small line-based REPL; Ctrl-A enters the raw REPL, Ctrl-D soft-resets."""
        _w(self.banner)
        while True:
            src = self.read_statement()
            if src is None:
                return
            if src:
                exc = self.run(src, "single")
                if exc is not None:
                    sys.print_exception(exc, sys.stdout)
                gc.collect()

    def read_statement(self):
        """Read one statement (with continuation lines); None means 'enter the raw REPL'."""
        lines = []
        while True:
            _w(b"... " if lines else b">>> ")
            line = bytearray()
            while True:
                c = self.read1()
                if c == 1:
                    _w(b"\n")
                    self.raw()
                    _w(self.banner)
                    return ""
                if c == 3:
                    _w(b"\n")
                    return ""
                if c == 4:
                    if not line and not lines:
                        _w(b"\n")
                        sys.exit(SOFT_FRIENDLY)
                    continue
                if c in (8, 127):
                    if line:
                        line.pop()
                        _w(b"\x08 \x08")
                    continue
                if c in (13, 10):
                    _w(b"\n")
                    break
                if c >= 32:
                    line.append(c)
                    _out.write(bytes((c,)))
            text = line.decode()
            if not lines and not text.rstrip().endswith(":"):
                return text
            if lines and not text.strip():
                return "\n".join(lines) + "\n"
            lines.append(text)


def main(root, heap_free, mode, reason, status_fd, banner):
    """Start the board: mount its files, run /boot.py, then serve the REPL."""
    status = open("/proc/self/fd/%d" % status_fd, "wb")
    os.umount("/")
    os.mount(BoardFs(root, status), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]
    board = Firmware(status, banner.encode() + b"\nType \"help()\" for more information.\n")
    if reason == "soft":
        _w(b"MPY: soft reboot\n")
    gc.collect()
    if heap_free:                           # leave the board's free heap, not the host's
        spare = gc.mem_free() - heap_free
        if spare > 64:
            globals()["_ballast"] = bytearray(spare - 64)
    board.run_file("/boot.py")
    if mode == "raw":
        board.raw()
    else:
        board.run_file("/main.py")
    while True:
        board.friendly()
