"""`micronn sim`: a virtual board on a pseudo-terminal, for trying micronn without hardware."""
from ..errors import MicronnError

HELP = "run a virtual board (the MicroPython unix port behind a pty) or an emulated micro:bit"
DESCRIPTION = ("A virtual board: the MicroPython unix port behind a pseudo-terminal, with a board's heap and "
               "its files in DIR; or (--board microbit) a BBC micro:bit emulated by QEMU with its own "
               "MicroPython 1.9 firmware. Runs until Ctrl-C; other micronn commands (and mpremote, ampy) "
               "use its port like a board's.")
EXAMPLE = "micronn sim --board esp32 --link /tmp/board   # then: export MICRONN_PORT=/tmp/board"


def arguments(p):
    p.add_argument("--board", default="unix", choices=["unix", "esp32", "pico", "microbit"],
                   help="heap to emulate: esp32 110 KB, pico 190 KB, unix 2 MB (default); microbit: "
                   "QEMU and the micro:bit firmware (Debian packages qemu-system-arm, "
                   "firmware-microbit-micropython), about 9.8 KB of heap")
    p.add_argument("--dir", help="the board's filesystem (default: a temporary directory; "
                   "a micro:bit keeps its files in its emulated flash)")
    p.add_argument("--link", help="make this path a symlink to the board's port")


def run(args, out=print):
    if args.board == "microbit":
        from ..sim import qemu
        if args.dir:
            raise MicronnError("--dir: an emulated micro:bit keeps its files in its own flash")
        try:
            return qemu.serve(args.link, say=out)
        except qemu.EmulatorError as e:
            raise MicronnError(str(e))
    from .. import sim
    sim.run(args.board, args.dir, args.link, out=out)
