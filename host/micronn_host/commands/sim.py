"""`micronn sim`: a virtual board on a pseudo-terminal, for trying micronn without hardware."""
import os

from ..errors import MicronnError

EMULATED = ("microbit", "m4f")
HELP = "run a virtual board (the MicroPython unix port behind a pty) or a board emulated by QEMU"
DESCRIPTION = ("A virtual board: the MicroPython unix port behind a pseudo-terminal, with a board's heap and "
               "its files in DIR; or a board emulated by QEMU with its own firmware: --board microbit, a BBC "
               "micro:bit with its MicroPython 1.9; --board m4f, a 32-bit Cortex-M4F board (float32, Thumb "
               "native code) running the MicroPython firmware given with --firmware. Runs until Ctrl-C; "
               "other micronn commands (and mpremote, ampy) use its port like a board's.")
EXAMPLE = "micronn sim --board esp32 --link /tmp/board   # then: export MICRONN_PORT=/tmp/board"


def arguments(p):
    p.add_argument("--board", default="unix", choices=["unix", "esp32", "pico"] + list(EMULATED),
                   help="heap to emulate: esp32 110 KB, pico 190 KB, unix 2 MB (default); microbit: "
                   "QEMU and the micro:bit firmware (Debian packages qemu-system-arm, "
                   "firmware-microbit-micropython), about 9.8 KB of heap; m4f: QEMU's mps2-an386 "
                   "(Cortex-M4F) and a MicroPython firmware for it (--firmware), 192 KB of heap")
    p.add_argument("--firmware", metavar="FILE",
                   help="the firmware an emulated board runs: for m4f a MicroPython .elf built for "
                   "mps2-an386 (default: $MICRONN_M4F_FIRMWARE; docs/boards.md says how to build one); "
                   "for microbit the Debian package's firmware.hex")
    p.add_argument("--dir", help="the board's filesystem (default: a temporary directory; "
                   "an emulated board keeps its files inside the emulator)")
    p.add_argument("--link", help="make this path a symlink to the board's port")


def check_link(link):
    """--link must not replace a file of the user's, and needs a directory to be made in."""
    if not link:
        return
    if os.path.lexists(link) and not os.path.islink(link):
        raise MicronnError("--link %s exists and is not a symlink" % link)
    where = os.path.dirname(os.path.abspath(link))
    if not os.path.isdir(where):
        raise MicronnError("--link %s: no directory %s" % (link, where))


def run(args, out=print):
    check_link(args.link)
    if args.board in EMULATED:
        from ..sim import qemu
        if args.dir:
            raise MicronnError("--dir: an emulated %s keeps its files inside the emulator" % args.board)
        try:
            return qemu.serve(args.link, say=out, board=args.board, firmware=args.firmware)
        except qemu.EmulatorError as e:
            raise MicronnError(str(e))
    if args.firmware:
        raise MicronnError("--firmware: the %s board is the MicroPython unix port (`micropython`); "
                           "--firmware is for --board m4f or microbit" % args.board)
    from .. import sim
    sim.run(args.board, args.dir, args.link, out=out)
