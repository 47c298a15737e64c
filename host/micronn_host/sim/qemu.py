"""Boards emulated by QEMU, with their UART on a pty (what `micronn sim --board microbit|m4f`
starts).  One runner for every such board; what differs between them is a `Machine`:

- `microbit`: a BBC micro:bit (QEMU's `microbit` machine) running the MicroPython 1.9.2 firmware
  Debian packages;
- `m4f`: a Cortex-M4F board (QEMU's `mps2-an386`) running a MicroPython firmware built for it
  (not part of micronn: --firmware FILE.elf or $MICRONN_M4F_FIRMWARE; docs/boards.md says how
  to build one).

    with Emulator("m4f", firmware="micropython-m4f.elf") as board:
        print(board.port)          # /dev/pts/N: a serial port for any raw-REPL tool
        board.reset()              # the reset button (a hard reset)

Both keep their files inside the emulated machine (the micro:bit in its flash, the M4F board
on a RAM disk): they survive soft and hard resets, not a new QEMU process.
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
FIRMWARE = "/usr/share/firmware-microbit-micropython/firmware.hex"    # the micro:bit's, from Debian
PACKAGES = "qemu-system-arm firmware-microbit-micropython"
M4F_FIRMWARE = "MICRONN_M4F_FIRMWARE"       # the environment variable naming the M4F firmware


class EmulatorError(Exception):
    pass


class Machine:
    """What one kind of emulated board needs: its name for --board, QEMU's arguments for a
    firmware file, where its firmware is by default, and how to say what is missing."""

    name = title = files = ""

    def default_firmware(self):
        return None

    def firmware(self, given=None):
        return given or self.default_firmware()

    def qemu_args(self, firmware):
        raise NotImplementedError

    def missing(self, firmware=None):
        """None when this board can run here, else one line saying what is missing."""
        raise NotImplementedError


class Microbit(Machine):
    name = "microbit"
    title = "emulated BBC micro:bit, QEMU running its MicroPython 1.9 firmware (about 9.8 KB of heap)"
    files = "in its emulated flash, kept across resets, gone when it stops"

    def default_firmware(self):
        return FIRMWARE         # looked up when used, so that it can be pointed elsewhere

    def qemu_args(self, firmware):
        return ["-M", "microbit", "-device", "loader,file=%s" % firmware]

    def missing(self, firmware=None):
        firmware = self.firmware(firmware)
        lost = []
        if not shutil.which(QEMU):
            lost.append("%s (the QEMU ARM emulator)" % QEMU)
        if not os.path.exists(firmware):
            lost.append("%s (the micro:bit MicroPython firmware)" % firmware)
        if not lost:
            return None
        return ("%s not found: install the Debian packages %s (sudo apt-get install %s)"
                % (" and ".join(lost), PACKAGES, PACKAGES))


class M4F(Machine):
    name = "m4f"
    title = ("emulated Cortex-M4F board (QEMU mps2-an386): 32-bit, float32, Thumb native code "
             "(.mpy armv7emsp)")
    files = "on its RAM disk, kept across soft and hard resets, gone when it stops"
    BUILD = "docs/boards.md says how to build one"

    def default_firmware(self):
        return os.environ.get(M4F_FIRMWARE) or None

    def qemu_args(self, firmware):
        return ["-M", "mps2-an386", "-semihosting", "-kernel", firmware]

    def missing(self, firmware=None):
        path = self.firmware(firmware)
        if not path:
            return ("--board m4f needs a MicroPython firmware for QEMU's mps2-an386 (Cortex-M4F): "
                    "--firmware FILE.elf or $%s; %s" % (M4F_FIRMWARE, self.BUILD))
        if not os.path.isfile(path):
            return ("no M4F firmware at %s (%s); %s" % (path, "--firmware" if firmware else "$" + M4F_FIRMWARE,
                                                         self.BUILD))
        if not shutil.which(QEMU):
            return ("%s (the QEMU ARM emulator) not found: install the Debian package qemu-system-arm "
                    "(sudo apt-get install qemu-system-arm)" % QEMU)
        return None


MACHINES = {m.name: m for m in (Microbit(), M4F())}


def machine(board):
    try:
        return MACHINES[board]
    except KeyError:
        raise EmulatorError("unknown emulated board %r; expected one of %s" % (board, ", ".join(MACHINES)))


def missing(firmware=None, board="microbit"):
    """None when the emulated board can run here, else what is missing and how to get it."""
    return machine(board).missing(firmware)


class Emulator:
    """One emulated board.  start() waits until its MicroPython answers on the pty."""

    def __init__(self, board="microbit", link=None, firmware=None):
        self.machine = machine(board)
        self.link = link
        self.firmware = firmware
        self.proc = None
        self.port = None
        self.dir = None
        self.banner = ""            # the firmware's boot line ("MicroPython v1.29.0 on ...")
        self._held = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=20.0):
        why = self.machine.missing(self.firmware)
        if why:
            raise EmulatorError(why)
        if self.link and os.path.lexists(self.link) and not os.path.islink(self.link):
            raise EmulatorError("--link %s exists and is not a symlink" % self.link)
        firmware = os.path.abspath(self.machine.firmware(self.firmware))
        self.dir = tempfile.mkdtemp(prefix="micronn-%s-" % self.machine.name)
        self.qmp = os.path.join(self.dir, "qmp.sock")
        log = open(os.path.join(self.dir, "qemu.log"), "wb")
        self.proc = subprocess.Popen(
            [QEMU] + self.machine.qemu_args(firmware) +
            ["-nographic", "-serial", "pty", "-monitor", "none", "-qmp", "unix:%s,server=on,wait=off" % self.qmp],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)     # a Ctrl-C in the terminal is for serve(), which stops it
        log.close()
        try:
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
            except (OSError, EmulatorError):
                # QEMU opens its pty before it runs the firmware: one that is no firmware for the
                # machine (a CPU lockup) ends it, and its pty with it, a moment later
                if self._exited(1.0):
                    raise EmulatorError(self._died(firmware))
                raise
        except BaseException:
            self.stop()
            raise
        return self.port

    def _exited(self, wait):
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _died(self, firmware):
        """One line for a QEMU that ended while the board started: its status, its first
        message (not the register dump of a lockup), and what the firmware should be."""
        said = [l.strip() for l in self.log().splitlines()
                if l.strip() and not l.startswith("char device redirected")]
        return ("%s exited with status %d running %s (%s): is it a MicroPython firmware for the %s board? %s"
                % (QEMU, self.proc.returncode, firmware, said[0] if said else "no message",
                   self.machine.name, getattr(self.machine, "BUILD", "see docs/microbit.md")))

    def log(self):
        """What QEMU printed (its own messages; the board's output goes to the pty)."""
        with open(os.path.join(self.dir, "qemu.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def _wait_for_pty(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(r"char device redirected to (\S+)", self.log())
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                raise EmulatorError("%s exited with status %d: %s" % (QEMU, self.proc.returncode, self.log().strip()))
            time.sleep(0.02)
        raise EmulatorError("%s did not open a pty within %.0f s" % (QEMU, timeout))

    def _wait_for_prompt(self, timeout):
        """Press Enter until MicroPython prints its prompt (the boards boot in about 0.1 s), and
        keep the banner it printed before it.  A board that booted before its pty was read has
        printed that already: Ctrl-B at the prompt prints it again."""
        fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(fd)
            seen = b""
            key = b"\r"
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                os.write(fd, key)
                t = time.monotonic() + 0.1
                while time.monotonic() < t:
                    if select.select([fd], [], [], 0.02)[0]:
                        seen += os.read(fd, 1024)
                        m = re.search(rb"(MicroPython [^\r\n]*)[\s\S]*>>> ", seen)
                        if m:
                            self.banner = m.group(1).decode(errors="replace")
                            return
                        if b">>> " in seen and key != b"\x02":
                            key, seen, t = b"\x02", b"", 0.0
                if self.proc.poll() is not None:
                    raise EmulatorError("%s exited with status %d: %s"
                                        % (QEMU, self.proc.returncode, self.log().strip()))
            if key == b"\x02":         # it answers, but never said what it is
                self.banner = ""
                return
            raise EmulatorError("the %s board did not answer on %s within %.0f s"
                                % (self.machine.name, self.port, timeout))
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


def serve(link=None, say=print, board="microbit", firmware=None):
    """What `micronn sim --board microbit|m4f [--link PATH]` does: start the emulator, say where
    its port is, and run until Ctrl-C (or SIGTERM, SIGHUP); SIGUSR1 presses its reset button."""
    import signal
    events = []
    for sig, what in ((signal.SIGINT, "stop"), (signal.SIGTERM, "stop"), (signal.SIGHUP, "stop"),
                      (signal.SIGUSR1, "reset")):
        signal.signal(sig, lambda *a, what=what: events.append(what))
    with Emulator(board, link=link, firmware=firmware) as emu:
        say("micronn sim: %s" % emu.machine.title)
        if board != "microbit":
            say("  firmware: %s (%s)" % (emu.machine.firmware(firmware), emu.banner or "no banner"))
        say("  port:  %s%s" % (emu.port, "  (linked from %s)" % link if link else ""))
        say("  files: %s" % emu.machine.files)
        say("  Ctrl-C stops it; `kill -USR1 %d` presses its reset button." % os.getpid())
        while emu.running and "stop" not in events:
            if "reset" in events:
                events.remove("reset")
                emu.reset()
            time.sleep(0.05)
        if "stop" not in events:
            raise EmulatorError("%s stopped: %s" % (QEMU, emu.log().strip()))
