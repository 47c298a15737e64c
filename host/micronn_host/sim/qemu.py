"""An emulated BBC micro:bit: QEMU's `microbit` machine running the MicroPython 1.9.2 firmware
Debian packages, with its UART on a pty (what `micronn sim --board microbit` starts).

    with Emulator() as board:
        print(board.port)          # /dev/pts/N: a serial port for any raw-REPL tool
        board.reset()              # the reset button (a hard reset; files survive it)

The filesystem lives in the emulated flash: it survives resets but not the emulator.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time
import tty

QEMU = "qemu-system-arm"
FIRMWARE = "/usr/share/firmware-microbit-micropython/firmware.hex"
PACKAGES = "qemu-system-arm firmware-microbit-micropython"


class EmulatorError(Exception):
    pass


def missing(firmware=None):
    """None when the emulator can run here, else what is missing and how to install it."""
    firmware = firmware or FIRMWARE
    lost = []
    if not shutil.which(QEMU):
        lost.append("%s (the QEMU ARM emulator)" % QEMU)
    if not os.path.exists(firmware):
        lost.append("%s (the micro:bit MicroPython firmware)" % firmware)
    if not lost:
        return None
    return ("%s not found: install the Debian packages %s (sudo apt-get install %s)"
            % (" and ".join(lost), PACKAGES, PACKAGES))


class Emulator:
    """One emulated micro:bit.  start() waits until its MicroPython answers on the pty."""

    def __init__(self, link=None, firmware=None):
        self.link = link
        self.firmware = firmware
        self.proc = None
        self.port = None
        self.dir = None
        self._held = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=20.0):
        why = missing(self.firmware)
        if why:
            raise EmulatorError(why)
        self.dir = tempfile.mkdtemp(prefix="micronn-microbit-")
        self.qmp = os.path.join(self.dir, "qmp.sock")
        log = open(os.path.join(self.dir, "qemu.log"), "wb")
        self.proc = subprocess.Popen(
            [QEMU, "-M", "microbit", "-device", "loader,file=%s" % (self.firmware or FIRMWARE), "-nographic",
             "-serial", "pty", "-monitor", "none", "-qmp", "unix:%s,server=on,wait=off" % self.qmp],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)     # a Ctrl-C in the terminal is for serve(), which stops it
        log.close()
        try:
            self.port = self._wait_for_pty(timeout)
            # keep the pty open: QEMU drops the board's output while no program holds its pty,
            # and notices one opening it only on a one-second timer (a board's port is always there)
            self._held = os.open(self.port, os.O_RDWR | os.O_NOCTTY)
            if self.link:
                if os.path.lexists(self.link):
                    os.remove(self.link)
                os.symlink(self.port, self.link)
            self._wait_for_prompt(timeout)
        except BaseException:
            self.stop()
            raise
        return self.port

    def _log(self):
        with open(os.path.join(self.dir, "qemu.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def _wait_for_pty(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(r"char device redirected to (\S+)", self._log())
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                raise EmulatorError("%s exited with status %d: %s" % (QEMU, self.proc.returncode, self._log().strip()))
            time.sleep(0.02)
        raise EmulatorError("%s did not open a pty within %.0f s" % (QEMU, timeout))

    def _wait_for_prompt(self, timeout):
        """Press Enter until MicroPython prints its prompt (it boots in about 0.1 s)."""
        fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            seen = b""
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                os.write(fd, b"\r")
                t = time.monotonic() + 0.1
                while time.monotonic() < t:
                    if select.select([fd], [], [], 0.02)[0]:
                        seen += os.read(fd, 1024)
                        if b">>> " in seen:
                            return
            raise EmulatorError("the emulated micro:bit did not answer on %s within %.0f s" % (self.port, timeout))
        finally:
            os.close(fd)

    def _qmp(self, command):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        try:
            s.connect(self.qmp)
            f = s.makefile("rwb")
            f.readline()                                    # the greeting
            for cmd in ("qmp_capabilities", command):
                f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
                if "error" in reply:
                    raise EmulatorError("QEMU refused %s: %s" % (cmd, reply["error"]))
        finally:
            s.close()

    def reset(self):
        """A hard reset, like the board's reset button: RAM is lost, the files stay."""
        self._qmp("system_reset")

    def stop(self):
        if self._held is not None:
            os.close(self._held)
            self._held = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.link and os.path.islink(self.link):
            os.remove(self.link)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None


def serve(link=None, say=print):
    """What `micronn sim --board microbit [--link PATH]` does: start the emulator, say where its
    port is, and run until Ctrl-C (or SIGTERM, SIGHUP); SIGUSR1 presses its reset button."""
    import signal
    events = []
    for sig, what in ((signal.SIGINT, "stop"), (signal.SIGTERM, "stop"), (signal.SIGHUP, "stop"),
                      (signal.SIGUSR1, "reset")):
        signal.signal(sig, lambda *a, what=what: events.append(what))
    with Emulator(link=link) as emu:
        say("micronn sim: emulated BBC micro:bit, QEMU running its MicroPython 1.9 firmware "
            "(about 9.8 KB of heap)")
        say("  port:  %s%s" % (emu.port, "  (linked from %s)" % link if link else ""))
        say("  files: in its emulated flash, kept across resets, gone when it stops")
        say("  Ctrl-C stops it; `kill -USR1 %d` presses its reset button." % os.getpid())
        while emu.running and "stop" not in events:
            if "reset" in events:
                events.remove("reset")
                emu.reset()
            time.sleep(0.05)
        if "stop" not in events:
            raise EmulatorError("%s stopped: %s" % (QEMU, emu._log().strip()))
