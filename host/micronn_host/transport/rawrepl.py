"""MicroPython's raw REPL over a serial port.

Speaks the same protocol as ampy's and mpremote's `Pyboard`, with what a long-running job needs
on top: output is streamed to a callback as it arrives, a command may run for hours (the
timeout is for silence, and can be None: wait as long as the port is there), Ctrl-C on the host
interrupts the board and still collects the end of the command, raw-paste mode with flow
control (falling back to the plain raw REPL on old firmware), and errors that say what went
wrong in one line: no device, port busy, not MicroPython, lost connection, board reset.

Deadlines.  A device that talks without end (a GPS module printing a line every second, a
board whose program prints in a loop) must not hold micronn: every wait has an overall
deadline, not only one for silence.  Entering the raw REPL gives up within seconds, quoting
what the port sent; each step of the protocol (the prompt, "OK", raw-paste flow control, the
end of a command) has its own; a command's output gets `limit` seconds in all (by default
LIMIT_FACTOR times its silence timeout).  Only a command run with timeout=None and limit=None
(a training job, which streams its progress) waits as long as the board keeps talking.

Boards with a tiny receive buffer.  identify() asks the board what it is with a command short
enough for any board, and sets the longest command it takes in one piece (LIMITS).  The BBC
micro:bit's MicroPython 1.9 queues received bytes in a 64-byte ring buffer (63 usable) and
drops what does not fit while it is busy (a garbage collection is enough), with no raw-paste
mode: sent in one go, a longer command arrives with bytes missing, sometimes still valid
Python.  So on such a board every command is at most that long, sent with its Ctrl-D in one
write, and the next one goes only after the board has answered; longer code is sent as pieces
of a string in such commands and run with exec() (stage()).  Short commands (SHORT bytes) go
as plain raw REPL on every board: they fit any buffer and need no raw-paste handshake.
"""
import time

from ..ctrlc import CtrlC
from ..errors import BoardError, BoardReset, Disconnected, Interrupted, PortError
from .files import Files

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
#: what a board prints when it (re)starts in the middle of a command
RESET_MARKS = (b"soft reboot\r\n", b'Type "help()" for more information.', b"rst:0x")
#: the longest command a board takes in one piece, by sys.platform (see the module docstring)
LIMITS = {"microbit": 62}
#: commands this short fit any board's receive buffer: sent as plain raw REPL, in one write
SHORT = min(LIMITS.values())
IDENTIFY = "import sys,gc;gc.collect();print(sys.platform,gc.mem_free())"
#: a command's output gets this many times its silence timeout in all (exec's default `limit`)
LIMIT_FACTOR = 12
_BY_TIMEOUT = object()      # exec's limit when none is given: LIMIT_FACTOR * timeout
#: the longest drain() discards input before entering the raw REPL, however chatty the port
DRAIN_LIMIT = 2.0
#: seconds before a Ctrl-C that a command has not answered is sent again; each wait is twice the
#: one before, until the command ends or its deadline passes.  A Ctrl-C can be lost: a byte
#: dropped on the line, a KeyboardInterrupt that lands where the firmware cannot raise it (the
#: virtual boards' unix port raises it from a signal handler, wherever the code is)
CTRL_C_AGAIN = 1.5
STAGE = "_s"                # the board variable that collects the pieces of a long command


class RawRepl(Files):
    """The raw REPL of the board at a serial port, with file operations (files.Files)."""

    def __init__(self, port, baudrate=115200):
        import serial
        self.port = port
        self.use_paste = True
        self.max_command = None     # set by identify() for boards with a tiny receive buffer
        self.platform = None
        try:
            self.serial = serial.Serial(port, baudrate, timeout=0.05, write_timeout=10, exclusive=True)
        except (serial.SerialException, OSError) as e:
            raise PortError(_open_error(port, e))
        self._pending = bytearray()
        self._again = None          # (when, wait): the next Ctrl-C of a command that has not answered

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
        """Read until `ending` (bytes, or a tuple of them: the first that comes); give up after
        `timeout` seconds in all (however much else the port sends) and return what came."""
        endings = ending if isinstance(ending, tuple) else (ending,)
        data = bytearray()
        deadline = time.monotonic() + timeout
        while not data.endswith(endings) and time.monotonic() < deadline:
            chunk = self._read_some()
            if chunk:
                data += chunk
                cuts = [(c + len(e)) for e in endings for c in (data.find(e),) if c >= 0]
                if cuts and min(cuts) < len(data):
                    self._pending += data[min(cuts):]
                    del data[min(cuts):]
        return bytes(data)

    def read_exact(self, n, timeout):
        """The next n bytes, within `timeout` seconds in all."""
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < n:
            chunk = self._read_some()
            if chunk:
                data += chunk
            elif time.monotonic() > deadline:
                raise PortError("%s stopped answering in the middle of the raw REPL protocol" % self.port)
        self._pending += data[n:]
        return bytes(data[:n])

    def _waiting(self):
        try:
            return self._pending or self.serial.in_waiting
        except Exception as e:
            raise Disconnected("lost the connection to %s (%s)" % (self.port, _reason(e)))

    def drain(self, quiet=0.1, limit=DRAIN_LIMIT):
        """Discard input until the line has been quiet for `quiet` seconds, or for `limit`
        seconds in all when it never is; return the last bytes discarded (to quote)."""
        self._pending.clear()
        now = time.monotonic()
        end, give_up = now + quiet, now + limit
        seen = bytearray()
        while time.monotonic() < min(end, give_up):
            chunk = self._read_some()
            if chunk:
                seen += chunk
                del seen[:-QUOTE_KEEP]
                end = time.monotonic() + quiet
        return bytes(seen)

    # -- raw REPL ------------------------------------------------------------------------------

    def enter(self, soft_reset=False, timeout=3.0):
        """Interrupt whatever runs, enter the raw REPL (optionally soft-resetting for a clean heap).
        The Ctrl-C goes again with each later attempt: one can be lost (CTRL_C_AGAIN), and a
        program that reads its stdin can take the bytes of an attempt for its own."""
        start = time.monotonic()
        self.write(b"\r\x03")
        time.sleep(0.1)
        self.write(b"\x03")
        heard = self.drain()
        got = b""
        for attempt in (b"\r\x01", b"\x02\r\x03\x01", b"\x02\r\x03\x01"):
            self.write(attempt)
            got = self.read_until(RAW_PROMPT, timeout)
            if got.endswith(RAW_PROMPT):
                break
            heard = (heard + got)[-QUOTE_KEEP:]
        else:
            if not heard.strip():
                raise PortError("no answer from %s within %.1fs: is a MicroPython board connected "
                                "there (and not busy)?" % (self.port, time.monotonic() - start))
            raise PortError("%s answers, but not like a MicroPython REPL (it sent %s)"
                            % (self.port, quote(heard)))
        if soft_reset:
            self.soft_reset(timeout)

    def soft_reset(self, timeout=3.0):
        """Ctrl-D at the raw REPL prompt: the board restarts MicroPython with a fresh heap and
        comes back in the raw REPL (without running main.py).  A Ctrl-C first clears the line:
        a stop byte that reached the board after its command ended would be on it."""
        self.write(b"\x03\x04")
        self.session += 1
        got = self.read_until(b"soft reboot\r\n", timeout)
        if not got.endswith(b"soft reboot\r\n"):
            raise PortError("%s did not soft-reset (it sent %s)" % (self.port, quote(got)))
        got = self.read_until(RAW_PROMPT, 30)
        if not got.endswith(RAW_PROMPT):
            raise PortError("%s did not come back to the raw REPL after a soft reset (it sent %s)"
                            % (self.port, quote(got)))

    def identify(self):
        """(sys.platform, free heap) of the board, asked with a command any board takes; sets
        the command length limit the transport keeps for it from then on."""
        try:
            try:
                out = self.exec(IDENTIFY)
            except BoardError as e:
                if e.exc_type != "MemoryError":
                    raise
                self.soft_reset()       # a heap too full to parse a command: what a job left
                out = self.exec(IDENTIFY)
            platform, free = out.decode().split()
            free = int(free)
        except (BoardError, ValueError):
            raise PortError("%s answers as a raw REPL, but not as MicroPython does (sys.platform, "
                            "gc.mem_free())" % self.port)
        self.platform = platform
        self.max_command = LIMITS.get(platform)
        if self.max_command:
            self.use_paste = False
        return platform, free

    def exit(self):
        self.write(b"\x02")

    def _send(self, code):
        """Hand the command to the board: in one write when short, else raw-paste when it can,
        else the plain raw REPL."""
        if len(code) <= SHORT:
            return self._plain(code, len(code) + 1)
        if self.max_command and len(code) > self.max_command:
            raise ValueError("a %d-byte command for a board that takes %d at once (use stage())"
                             % (len(code), self.max_command))
        if self.use_paste:
            self.write(b"\x05A\x01")
            head = self.read_until((b"R\x01", b"R\x00", RAW_PROMPT), 3.0)
            if head.endswith(b"R\x01"):
                return self._paste(code)
            # R\x00: it knows raw-paste but will not; the banner: older firmware saw the Ctrl-A
            self.use_paste = False
        self._plain(code, 256)

    def _plain(self, code, piece):
        """The plain raw REPL: the code in writes of `piece` bytes, then Ctrl-D; wait for OK."""
        code += b"\x04"
        for i in range(0, len(code), piece):
            if i:
                time.sleep(0.01)
            self.write(code[i:i + piece])
        ok = self.read_until(b"OK", 5.0)
        if not ok.endswith(b"OK"):
            raise PortError("%s did not accept the command (it sent %s)" % (self.port, quote(ok)))

    def stage(self, code):
        """For a board with a command length limit: send code longer than that as pieces of a
        string (one short command each) and return the short command that runs it."""
        text = code.decode() if isinstance(code, bytes) else code
        self.exec("%s=[]" % STAGE)
        i = 0
        while i < len(text):
            n = self.max_command
            while len(("%s+=[%r]" % (STAGE, text[i:i + n])).encode()) > self.max_command:
                n -= 1
            self.exec("%s+=[%r]" % (STAGE, text[i:i + n]))
            i += n
        return "exec(''.join(%s));%s=0" % (STAGE, STAGE)

    def _paste(self, code):
        size = self.read_exact(2, 3.0)
        window = size[0] | size[1] << 8
        room, i = window, 0
        # flow control: the board asks for each window; it gets 10 s, and 1 s per 2 KB on top
        deadline = time.monotonic() + 10.0 + len(code) / 2000.0
        while i < len(code):
            while room == 0 or self._waiting():
                if time.monotonic() > deadline:
                    raise PortError("%s stopped taking the command in the middle of raw-paste (%d of %d "
                                    "bytes sent)" % (self.port, i, len(code)))
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
            raise PortError("%s did not confirm the end of the command (it sent %s)" % (self.port, quote(end)))

    def exec(self, code, on_output=None, timeout=10.0, interruptible=False, stop_byte=None, on_stop=None,
             limit=_BY_TIMEOUT):
        """Run code on the board; return its output (bytes).

        on_output(bytes) sees the output as it arrives.  timeout: seconds of silence after which
        the board counts as stuck (None: wait while the port is there).  limit: seconds the
        command gets in all, however much it prints (the default: LIMIT_FACTOR times timeout;
        None: no limit, for a job that reports its progress as it goes).  interruptible: Ctrl-C
        on the host interrupts the board and keeps reading, so the command can wind down
        (self.interrupted tells); a second Ctrl-C sends Ctrl-C to the board and gives up.
        By default the board gets Ctrl-C (KeyboardInterrupt wherever it is).  With stop_byte it
        is asked first: on_stop() returns how many seconds the command gets to end by itself
        (0: none), the byte goes to the command's stdin, for a command that polls for it and
        stops at a point of its choosing, and Ctrl-C follows only if it has not ended by then
        (self.forced tells).  A Ctrl-C is sent again while the command goes on (CTRL_C_AGAIN),
        until the deadline that the first one set.
        A traceback raises BoardError.
        """
        if isinstance(code, str):
            code = code.encode()
        if self.max_command and len(code) > self.max_command:
            code = self.stage(code).encode()
        if limit is _BY_TIMEOUT:
            limit = None if timeout is None else LIMIT_FACTOR * timeout
        self.interrupted = self.forced = False
        self._send(code)
        with CtrlC(interruptible) as ctrl_c:
            return self._collect(on_output, timeout, ctrl_c, stop_byte, on_stop, limit)

    def _collect(self, on_output, timeout, ctrl_c, stop_byte, on_stop, limit=None):
        out = bytearray()
        err = bytearray()
        target = out
        last = start = time.monotonic()
        give_up = None if limit is None else start + limit
        deadline = None
        tail = b""
        self._again = None
        while True:
            now = time.monotonic()
            if give_up is not None and now > give_up:
                self._force()
                raise PortError("%s kept sending for %gs without finishing the command (it sent %s)"
                                % (self.port, now - start, quote(out + err)))
            if deadline is not None and now > deadline:
                deadline = None
                self._force()
            if self._again is not None and now > self._again[0] and target is out:
                self._force(self._again[1] * 2)     # unanswered, and the board is not ending the command
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
                stuck = last + wait + 60.0                      # and so does talking for too long
                give_up = stuck if give_up is None else min(give_up, stuck)
            if not chunk:
                if timeout is not None and time.monotonic() - last > timeout:
                    raise PortError("%s went silent for %gs in the middle of a command" % (self.port, timeout))
                continue
            last = time.monotonic()
            seen = tail + chunk
            for mark in RESET_MARKS:
                if mark in seen:
                    self.session += 1
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

    def _force(self, again=CTRL_C_AGAIN):
        """Ctrl-C: KeyboardInterrupt on the board, wherever the command is; sent again after
        `again` seconds if the command has not ended (_collect)."""
        self.forced = True
        self._again = (time.monotonic() + again, again)
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


QUOTE_KEEP = 400        # bytes of a port's output kept to quote in a message


def quote(data, n=60):
    """What a port sent, for a message: its last whole line with something on it (else its
    last bytes), at most n characters, quoted; and how much there was when that is not all."""
    data = bytes(data)
    if not data.strip():
        return "nothing" if not data else "only %r" % data[-n:]
    # each byte that is not printable ASCII written once as \xNN (repr of a text that already
    # held "\x9a" doubled its backslash)
    text = "".join(chr(b) if 32 <= b < 127 else "\n" if b in (10, 13) else "\\x%02x" % b for b in data)
    whole = [l.strip() for l in text[:text.rfind("\n") + 1].split("\n") if l.strip()]
    last = whole[-1] if whole else text.strip()[-n:]
    short = "'%s'" % (last if len(last) <= n else last[:n - 3] + "...")
    if short[1:-1] == text.strip():
        return short
    return "%s%d bytes, %s %s" % ("" if len(data) < QUOTE_KEEP else "at least ", len(data),
                                  "the last line" if whole else "ending", short)


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
