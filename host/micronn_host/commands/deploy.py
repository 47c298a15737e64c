"""`micronn deploy`: put micronn and its agent on the board, compiled for it."""
from . import options

HELP = "copy micronn and its agent to the board"
DESCRIPTION = ("Copy lib/micronn to /lib/micronn and the agent to /, compiled with mpy-cross for the board; "
               "unchanged files are skipped. A board too small for lib/micronn (a micro:bit) is only "
               "checked and tidied: the other commands send it a program made for each model.")
EXAMPLE = "micronn deploy --port /dev/ttyACM0"


def arguments(p):
    options.port(p)
    p.add_argument("--source", action="store_true", help="send .py source instead of .mpy")
    p.add_argument("--no-native", action="store_true",
                   help="send the viper kernels as plain bytecode, as for firmware without a native emitter")


def run(args, out=print):
    from ..boards import connect
    with connect(args.port, soft_reset=True) as board:
        board.deploy(source=args.source, native=not args.no_native, out=out)
