"""A minimal raw-REPL driver for boards with a tiny UART receive buffer (the BBC micro:bit).

The micro:bit's MicroPython 1.9 queues received bytes in a 64-byte ring buffer and drops what
does not fit while it is busy (a garbage collection is enough), and it has no raw-paste mode
(the flow-controlled upload of MicroPython >= 1.14).  Sent in one go, a longer command arrives
with bytes missing, sometimes still valid Python.  So every command here is at most
MAX_COMMAND bytes, followed by Ctrl-D, and the next one is sent only after the board answered:
the ring buffer always has room for all of it.  Longer code is built from several commands
(see micronn_host.tinyboard) or uploaded as a file.

This driver is kept apart and small on purpose: the CLI's own transport (issue 3) can replace
it as long as it keeps the command size limit.
"""
import os
import re
import select
import time

MAX_COMMAND = 62                # + Ctrl-D = 63 bytes, what the board's ring buffer holds
BANNER = b"raw REPL; CTRL-B to exit\r\n>"
BOOTED = b'Type "help()" for more information.'   # the boot banner: mid-command, a reset


class ReplError(Exception):
    """The board did not answer as a MicroPython raw REPL does."""


class BoardReset(ReplError):
    """The board restarted (reset button, power, watchdog) while a command was running."""


class BoardException(Exception):
    """Code run on the board raised; the message is the last line of the traceback."""

    def __init__(self, traceback):
        self.traceback = traceback
        lines = [l for l in traceback.strip().splitlines() if l.strip()]
        super().__init__(lines[-1] if lines else "the board raised an exception")

    @property
    def kind(self):
        """The exception's type name, e.g. 'MemoryError'."""
        return re.split(r"[:\s]", str(self), maxsplit=1)[0]


class RawRepl:
    """Raw REPL over a serial device or a pty (opened with pyserial)."""

    def __init__(self, port, baudrate=115200):
        import serial
        try:
            self.serial = serial.serial_for_url(port, baudrate=baudrate, timeout=0)
        except (serial.SerialException, OSError) as e:
            raise ReplError("cannot open %s: %s" % (port, e))
        self.port = port
        self.buf = b""
        self.raw = False

    def close(self):
        self.serial.close()

    # -- bytes ---------------------------------------------------------------------------------

    def _fill(self, wait):
        r, _, _ = select.select([self.serial.fileno()], [], [], wait)
        if r:
            try:
                data = os.read(self.serial.fileno(), 4096)
            except OSError:             # a pty whose other end went away
                data = b""
            if not data:
                raise ReplError("the connection to %s closed" % self.port)
            self.buf += data

    def read_until(self, marker, timeout, idle=None, stop=None):
        """Bytes up to and including marker (or stop, if that comes first).  timeout: seconds
        in all; idle: seconds without any byte arriving (for long jobs that print as they go);
        either raises ReplError."""
        end = time.monotonic() + timeout if timeout else None
        quiet = time.monotonic() + idle if idle else None
        while True:
            i = self.buf.find(marker)
            if stop is not None:
                j = self.buf.find(stop)
                if j >= 0 and (i < 0 or j < i):
                    i, marker = j, stop
            if BOOTED in (self.buf[:i + len(marker)] if i >= 0 else self.buf):
                self.buf, self.raw = b"", False
                raise BoardReset("the board on %s reset while it was running a command" % self.port)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            now = time.monotonic()
            if (end and now > end) or (quiet and now > quiet):
                raise ReplError("no answer from the board on %s (waited for %r, got %r)"
                                % (self.port, marker, self.buf[-200:]))
            n = len(self.buf)
            self._fill(0.05)
            if idle and len(self.buf) != n:
                quiet = time.monotonic() + idle

    def write(self, data):
        self.serial.write(data)
        self.serial.flush()

    def drain(self, wait=0.1):
        """Drop whatever the board has sent so far (waiting up to `wait` for the rest)."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            self._fill(0.02)
        out, self.buf = self.buf, b""
        return out

    # -- raw REPL ------------------------------------------------------------------------------

    def enter(self, timeout=5.0):
        """Interrupt whatever runs and enter the raw REPL."""
        self.write(b"\r\x03")
        time.sleep(0.05)
        self.write(b"\x03")
        self.drain(0.2)
        self.write(b"\x01")
        self.read_until(BANNER, timeout)
        self.raw = True

    def leave(self):
        self.write(b"\x02")
        self.drain(0.2)
        self.raw = False

    def soft_reset(self, timeout=10.0):
        """Ctrl-D in the raw REPL: a soft reboot that frees the whole heap (and stays raw)."""
        if not self.raw:
            self.enter()
        self.write(b"\x04")
        self.read_until(b"soft reboot\r\n", timeout)
        self.read_until(BANNER, timeout)

    def exec(self, code, timeout=30.0, idle=None, on_line=None):
        """Run one short command; return its output, raise BoardException if it raised.

        on_line(text) is called for each output line as it arrives (for progress)."""
        self.start(code)
        return self.follow(timeout, idle, on_line)

    def start(self, code):
        """Send a command (at most MAX_COMMAND bytes) and wait until the board accepted it."""
        data = code.encode() if isinstance(code, str) else code
        if len(data) > MAX_COMMAND:
            raise ValueError("command of %d bytes; at most %d fit the board's receive buffer: %r"
                             % (len(data), MAX_COMMAND, data[:80]))
        if not self.raw:
            self.enter()
        self.write(data + b"\x04")
        self.read_until(b"OK", 5.0)

    def follow(self, timeout=30.0, idle=None, on_line=None):
        """The output of the command start() sent; raise BoardException if it raised."""
        out = self._output(timeout, idle, on_line)
        err = self.read_until(b"\x04", 5.0)[:-1]
        self.read_until(b">", 5.0)
        if err:
            raise BoardException(err.decode(errors="replace"))
        return out

    def _output(self, timeout, idle, on_line):
        """The output up to the Ctrl-D that ends it, passing whole lines to on_line."""
        if on_line is None:
            return self.read_until(b"\x04", timeout, idle)[:-1].decode(errors="replace")
        out = b""
        while True:
            # one line, or what is left before the Ctrl-D, whichever comes first
            line = self.read_until(b"\n", timeout, idle, stop=b"\x04")
            if line.endswith(b"\x04"):
                line = line[:-1]
            out += line
            if line:
                on_line(line.decode(errors="replace").rstrip("\r\n"))
            if not line.endswith(b"\n"):
                return out.decode(errors="replace")

    def interrupt(self):
        """Ctrl-C: raises KeyboardInterrupt in the code running on the board."""
        self.write(b"\x03")
