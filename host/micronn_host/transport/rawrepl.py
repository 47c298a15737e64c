"""MicroPython's raw REPL over a serial port.

Speaks the same protocol as ampy's and mpremote's `Pyboard`, with what a long-running job needs
on top: output is streamed to a callback as it arrives, a command may run for hours (the
timeout is for silence, and can be None: wait as long as the port is there), Ctrl-C on the host
interrupts the board and still collects the end of the command, raw-paste mode with flow
control (falling back to the plain raw REPL on old firmware), and errors that say what went
wrong in one line: no device, port busy, not MicroPython, lost connection, board reset.
"""
import time

from ..ctrlc import CtrlC
from ..errors import BoardError, BoardReset, Disconnected, Interrupted, PortError

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
#: what a board prints when it (re)starts in the middle of a command
RESET_MARKS = (b"soft reboot\r\n", b'Type "help()" for more information.', b"rst:0x")


class RawRepl:
    def __init__(self, port, baudrate=115200):
        import serial
        self.port = port
        self.use_paste = True
        try:
            self.serial = serial.Serial(port, baudrate, timeout=0.05, write_timeout=10, exclusive=True)
        except (serial.SerialException, OSError) as e:
            raise PortError(_open_error(port, e))
        self._pending = bytearray()

    def close(self):
        try:
            self.serial.close()
        except Exception:
            pass

    # -- low level -----------------------------------------------------------------------------

    def write(self, data):
        try:
            self.serial.write(data)
        except Exception as e:          # SerialException, OSError, SerialTimeoutException
            raise Disconnected("lost the connection to %s (%s)" % (self.port, _reason(e)))

    def _read_some(self):
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            return data
        try:
            return self.serial.read(max(1, self.serial.in_waiting))
        except Exception as e:
            raise Disconnected("lost the connection to %s (%s)" % (self.port, _reason(e)))

    def read_until(self, ending, timeout):
        """Read until `ending`; give up after `timeout` seconds of silence and return what came."""
        data = bytearray()
        last = time.monotonic()
        while not data.endswith(ending):
            chunk = self._read_some()
            if chunk:
                data += chunk
                last = time.monotonic()
                cut = data.find(ending)
                if cut >= 0 and cut + len(ending) < len(data):
                    self._pending += data[cut + len(ending):]
                    del data[cut + len(ending):]
            elif time.monotonic() - last > timeout:
                break
        return bytes(data)

    def read_exact(self, n, timeout):
        data = bytearray()
        last = time.monotonic()
        while len(data) < n:
            chunk = self._read_some()
            if chunk:
                data += chunk
                last = time.monotonic()
            elif time.monotonic() - last > timeout:
                raise PortError("%s stopped answering in the middle of the raw REPL protocol" % self.port)
        self._pending += data[n:]
        return bytes(data[:n])

    def _waiting(self):
        try:
            return self._pending or self.serial.in_waiting
        except Exception as e:
            raise Disconnected("lost the connection to %s (%s)" % (self.port, _reason(e)))

    def drain(self, quiet=0.1):
        """Discard input until the line has been quiet for `quiet` seconds."""
        self._pending.clear()
        end = time.monotonic() + quiet
        while time.monotonic() < end:
            if self._read_some():
                end = time.monotonic() + quiet

    # -- raw REPL ------------------------------------------------------------------------------

    def enter(self, soft_reset=False, timeout=3.0):
        """Interrupt whatever runs, enter the raw REPL (optionally soft-resetting for a clean heap)."""
        self.write(b"\r\x03")
        time.sleep(0.1)
        self.write(b"\x03")
        self.drain()
        got = b""
        for attempt in (b"\r\x01", b"\x02\r\x03\x01"):
            self.write(attempt)
            got = self.read_until(RAW_PROMPT, timeout)
            if got.endswith(RAW_PROMPT):
                break
        else:
            if not got.strip():
                raise PortError("no answer from %s within %gs: is a MicroPython board connected "
                                "there (and not busy)?" % (self.port, timeout))
            raise PortError("%s answers, but not like a MicroPython REPL (it sent %r)"
                            % (self.port, _tail(got)))
        if soft_reset:
            self.write(b"\x04")
            got = self.read_until(b"soft reboot\r\n", timeout)
            if not got.endswith(b"soft reboot\r\n"):
                raise PortError("%s did not soft-reset (it sent %r)" % (self.port, _tail(got)))
            got = self.read_until(RAW_PROMPT, 30)
            if not got.endswith(RAW_PROMPT):
                raise PortError("%s did not come back to the raw REPL after a soft reset (it sent %r)"
                                % (self.port, _tail(got)))

    def exit(self):
        self.write(b"\x02")

    def _send(self, code):
        """Hand the command to the board: raw-paste when it can, else the plain raw REPL."""
        if self.use_paste:
            self.write(b"\x05A\x01")
            head = self.read_until(b"\x01", 3.0)[-2:]
            if head == b"R\x01":
                return self._paste(code)
            if head[-2:] != b"R\x00":   # firmware without raw-paste: it saw Ctrl-A and restarted
                self.read_until(RAW_PROMPT, 3.0)
            self.use_paste = False
        for i in range(0, len(code), 256):
            self.write(code[i:i + 256])
            time.sleep(0.01)
        self.write(b"\x04")
        ok = self.read_until(b"OK", 5.0)
        if not ok.endswith(b"OK"):
            raise PortError("%s did not accept the command (it sent %r)" % (self.port, _tail(ok)))

    def _paste(self, code):
        size = self.read_exact(2, 3.0)
        window = size[0] | size[1] << 8
        room, i = window, 0
        while i < len(code):
            while room == 0 or self._waiting():
                b = self._read_some()[:1]
                if b == b"\x01":
                    room += window
                elif b == b"\x04":      # the board ended the paste early
                    self.write(b"\x04")
                    return
                elif b:
                    raise PortError("%s sent %r in the middle of raw-paste" % (self.port, b))
            chunk = code[i:i + room]
            self.write(chunk)
            room -= len(chunk)
            i += len(chunk)
        self.write(b"\x04")
        end = self.read_until(b"\x04", 10.0)
        if not end.endswith(b"\x04"):
            raise PortError("%s did not confirm the end of the command (it sent %r)" % (self.port, _tail(end)))

    def exec(self, code, on_output=None, timeout=10.0, interruptible=False, stop_byte=None, on_stop=None):
        """Run code on the board; return its output (bytes).

        on_output(bytes) sees the output as it arrives.  timeout: seconds of silence after which
        the board counts as stuck (None: wait while the port is there).  interruptible: Ctrl-C
        on the host interrupts the board and keeps reading, so the command can wind down
        (self.interrupted tells); a second Ctrl-C sends Ctrl-C to the board and gives up.
        By default the board gets Ctrl-C (KeyboardInterrupt wherever it is).  With stop_byte it
        is asked first: on_stop() returns how many seconds the command gets to end by itself
        (0: none), the byte goes to the command's stdin, for a command that polls for it and
        stops at a point of its choosing, and Ctrl-C follows only if it has not ended by then
        (self.forced tells).
        A traceback raises BoardError.
        """
        if isinstance(code, str):
            code = code.encode()
        self.interrupted = self.forced = False
        self._send(code)
        with CtrlC(interruptible) as ctrl_c:
            return self._collect(on_output, timeout, ctrl_c, stop_byte, on_stop)

    def _collect(self, on_output, timeout, ctrl_c, stop_byte, on_stop):
        out = bytearray()
        err = bytearray()
        target = out
        last = time.monotonic()
        deadline = None
        tail = b""
        while True:
            if deadline is not None and time.monotonic() > deadline:
                deadline = None
                self._force()
            try:
                chunk = self._read_some()
            except KeyboardInterrupt:   # no flag (not interruptible, or not the main thread)
                if not ctrl_c.active:
                    raise Interrupted("interrupted; the board may still be running the command")
                ctrl_c.count += 1
                chunk = b""
            if ctrl_c.pressed():
                if self.interrupted:    # the second Ctrl-C: interrupt the board and give up
                    if not self.forced:
                        self._force()
                    raise Interrupted("interrupted at once (the board got Ctrl-C)")
                self.interrupted = True
                wait = (on_stop() if on_stop else 5.0) if stop_byte else 0.0
                if wait > 0:
                    self.write(stop_byte)
                    deadline = time.monotonic() + wait
                else:
                    self._force()
                timeout = max(timeout or 0.0, wait + 30.0)     # from here on, silence means stuck
                last = time.monotonic()
            if not chunk:
                if timeout is not None and time.monotonic() - last > timeout:
                    raise PortError("%s went silent for %gs in the middle of a command" % (self.port, timeout))
                continue
            last = time.monotonic()
            seen = tail + chunk
            for mark in RESET_MARKS:
                if mark in seen:
                    raise BoardReset("the board at %s reset in the middle of a command" % self.port)
            tail = seen[-40:]
            while chunk:
                cut = chunk.find(b"\x04")
                part = chunk if cut < 0 else chunk[:cut]
                target += part
                if target is out and on_output and part:
                    on_output(part)
                if cut < 0:
                    break
                chunk = chunk[cut + 1:]
                if target is err:
                    if chunk:
                        self._pending += chunk
                    prompt = self.read_until(b">", 5.0)
                    if not prompt.endswith(b">"):
                        raise PortError("%s did not return to the raw REPL prompt" % self.port)
                    if err:
                        raise board_error(bytes(err))
                    return bytes(out)
                target = err

    def _force(self):
        """Ctrl-C: KeyboardInterrupt on the board, wherever the command is."""
        self.forced = True
        self.write(b"\x03")

    def eval(self, expr, timeout=10.0):
        return self.exec("print(repr(%s))" % expr, timeout=timeout).decode().strip()


def board_error(err):
    """Turn a MicroPython traceback into BoardError(type, message)."""
    text = err.decode("utf-8", "replace").replace("\r", "").strip()
    last = text.splitlines()[-1] if text else "unknown error"
    exc_type, _, msg = last.partition(": ")
    if " " in exc_type:         # not "Type: message"
        exc_type, msg = "Error", last
    return BoardError(exc_type, msg or exc_type, text)


def _tail(data, n=60):
    return bytes(data[-n:])


def _reason(e):
    return str(e).strip() or type(e).__name__


def _open_error(port, e):
    import errno
    text = _reason(e)
    code = getattr(e, "errno", None)
    if code == errno.ENOENT or "No such file" in text:
        return "no device at %s (nothing is connected there)" % port
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "busy" in text.lower():
        return "%s is busy: another program (a terminal, mpremote, ampy, another micronn) has it open" % port
    if code == errno.EACCES or "Permission denied" in text:
        return "no permission to open %s (on Linux: add yourself to the dialout group)" % port
    return "cannot open %s: %s" % (port, text)
