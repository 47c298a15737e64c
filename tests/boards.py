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


class Sim:
    """`micronn sim` in a subprocess; .port is a symlink to its pty, .dir its filesystem (None
    for the emulated micro:bit, whose files are in its emulated flash)."""

    def __init__(self, tmp, board="esp32"):
        tmp = Path(tmp)
        self.dir = None
        where = []
        if board != "microbit":
            self.dir = tmp / ("board-%s" % board)
            self.dir.mkdir(parents=True, exist_ok=True)
            where = ["--dir", str(self.dir)]
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

    def file(self, path):
        return self.dir / path.lstrip("/")


def deployed(tmp, board="esp32"):
    """A virtual board with micronn deployed (a generator for a fixture: it stops the board);
    .first_deploy is what that deploy printed."""
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
from micronn.model import to_bytes
X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]
net = micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=1)
target = open(%r, "rb").read()
start, stop = %d, %d
if start:
    net.fit(X, Y, epochs=start, lr=1.0, loss="sse")
done, found = start, None
while True:
    if to_bytes(net) == target:
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
    network (as `micronn train ... ARTICLE` builds it) is exactly the model file at path, or
    None.  Computed by lib/micronn under the MicroPython unix port the virtual boards run, which
    gives a virtual board's bits exactly (the same code on the same machine)."""
    from conftest import LIB, Runtime
    from micronn_host.executables import find_micropython
    rt = Runtime("micropython", [find_micropython()], dict(os.environ, MICROPYPATH=".frozen:" + str(LIB)))
    return rt.run(ARTICLE_FIT % (str(path), start, start if stop is None else stop))
