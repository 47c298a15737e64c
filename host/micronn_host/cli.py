"""micronn: train small neural networks on a MicroPython board over USB, or on this computer.

Typical session:  micronn deploy; micronn train data.csv --layers 3,4,1; micronn fetch;
micronn predict 1 0 1.   Without a board: micronn sim --link /tmp/board, then --port /tmp/board.
"""
import argparse
import sys

from .errors import MicronnError


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except MicronnError as e:
        sys.stdout.flush()
        print("micronn: %s" % e, file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        print("\nmicronn: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(0 if status is None or not isinstance(status, int) else status)


def out(message):
    print(message, flush=True)


def _port(p):
    p.add_argument("--port", "-p", help="serial port of the board (default: $MICRONN_PORT, else the one "
                   "USB serial board connected)")


def _model(p):
    p.add_argument("--model", "-m", default="model", help="model name on the board: /models/NAME.mnn "
                   "(default: model)")


def _training(p):
    p.add_argument("data", help="numeric CSV: inputs then targets per line (optional header)")
    p.add_argument("--layers", "-l", required=True, help="layer sizes from inputs to outputs, e.g. 3,4,1")
    p.add_argument("--outputs", type=int, default=1, help="how many of the last columns are targets (default 1)")
    p.add_argument("--activation", default="sigmoid", help="hidden layers: sigmoid, tanh, relu, leaky_relu, linear")
    p.add_argument("--output", default=None, help="output layer activation, or softmax (default: as --activation)")
    p.add_argument("--loss", default="mse", help="mse (default), sse, bce or cce")
    p.add_argument("--epochs", type=int, default=100, help="passes over the data (default 100)")
    p.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    p.add_argument("--batch-size", type=int, default=None, help="default: full batch; 1 is online")
    p.add_argument("--optimizer", default="sgd", help="sgd (default), momentum or adam")
    p.add_argument("--init", default=None, help="uniform, xavier or he (default: by activation)")
    p.add_argument("--no-bias", action="store_true", help="layers without biases (like the article)")
    p.add_argument("--seed", type=int, default=None, help="seed for the initial weights and shuffling")
    p.add_argument("--history", help="write the loss curve to this CSV (epoch,loss) for `micronn plot`")


def build_parser():
    p = argparse.ArgumentParser(prog="micronn", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("sim", help="run a virtual board (the MicroPython unix port behind a pty) or an "
                       "emulated micro:bit",
                       description="A virtual board: the MicroPython unix port behind a pseudo-terminal, "
                       "with a board's heap and its files in DIR; or (--board microbit) a BBC micro:bit "
                       "emulated by QEMU with its own MicroPython 1.9 firmware. Runs until Ctrl-C.")
    s.add_argument("--board", default="unix", choices=["unix", "esp32", "pico", "microbit"],
                   help="heap to emulate: esp32 110 KB, pico 190 KB, unix 2 MB (default); microbit: "
                   "QEMU and the micro:bit firmware (Debian packages qemu-system-arm, "
                   "firmware-microbit-micropython), about 9.8 KB of heap")
    s.add_argument("--dir", help="the board's filesystem (default: a temporary directory; "
                   "a micro:bit keeps its files in its emulated flash)")
    s.add_argument("--link", help="make this path a symlink to the board's port")
    s.set_defaults(func=cmd_sim)

    s = sub.add_parser("deploy", help="copy micronn and its agent to the board",
                       description="Copy lib/micronn to /lib/micronn and the agent to /, compiled with "
                       "mpy-cross for the board; unchanged files are skipped. A board too small for "
                       "lib/micronn (a micro:bit) is only checked and tidied: the other commands send "
                       "it a program made for each model.")
    _port(s)
    s.add_argument("--source", action="store_true", help="send .py source instead of .mpy")
    s.add_argument("--no-native", action="store_true",
                   help="send the viper kernels as plain bytecode, as for firmware without a native emitter")
    s.set_defaults(func=cmd_deploy)

    s = sub.add_parser("train", help="train a network on the board", description="Send the data to the "
                       "board and train there, with a progress bar; the board checkpoints to "
                       "/models/NAME.mnn. Ctrl-C stops training and keeps the model.")
    _port(s)
    _training(s)
    _model(s)
    s.add_argument("--checkpoint", type=float, default=30.0, metavar="SECONDS",
                   help="save the model on the board this often while training (default 30)")
    s.set_defaults(func=lazy('.train:run_train'))

    s = sub.add_parser("fit", help="train on this computer (same library, same options)")
    _training(s)
    s.add_argument("-o", dest="output_file", required=True, help="model file to write (.mnn)")
    s.set_defaults(func=lazy('.train:run_fit'))

    s = sub.add_parser("fetch", help="copy a model from the board to this computer")
    _port(s)
    _model(s)
    s.add_argument("-o", dest="output_file", help="file to write (default: NAME.mnn)")
    s.set_defaults(func=lazy('.models:run_fetch'))

    s = sub.add_parser("push", help="copy a model file to the board")
    _port(s)
    s.add_argument("file", help="a .mnn or JSON model")
    _model(s)
    s.set_defaults(func=lazy('.models:run_push'))

    s = sub.add_parser("predict", help="run a model on the board")
    _port(s)
    _model(s)
    s.add_argument("values", nargs="*", help="one sample's inputs")
    s.add_argument("--csv", help="a CSV of inputs (extra columns are shown as targets)")
    s.add_argument("--json", action="store_true", help="print a JSON list of output lists")
    s.add_argument("--compare", action="store_true", help="also run the model here; print the largest difference")
    s.set_defaults(func=lazy('.models:run_predict'))

    s = sub.add_parser("info", help="what is on the board: MicroPython, memory, micronn, models")
    _port(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=lazy('.models:run_info'))

    s = sub.add_parser("bench", help="measure speed and memory on the board (the table of `make bench`)",
                       description="Run the benchmark of `make bench` on the board: each implementation "
                       "on each network after a soft reset; prints the table (markdown) on stdout.")
    _port(s)
    s.add_argument("--nets", help="networks to measure, comma-separated (default: 3-4-1,16-32-32-4,64-64-10)")
    s.add_argument("--impls", help="implementations, comma-separated (default: naive,micronn,float,int8)")
    s.set_defaults(func=lazy('.boardbench:run_bench'))

    s = sub.add_parser("plot", help="draw a loss curve (and predictions vs targets) to a PNG")
    s.add_argument("history", help="loss history CSV from train/fit --history")
    s.add_argument("--model", help="a model file, to plot its predictions for --data")
    s.add_argument("--data", help="CSV with inputs and targets")
    s.add_argument("-o", dest="output_file", default="loss.png", help="PNG to write (default loss.png)")
    s.set_defaults(func=lazy('.plot:run_plot'))
    return p


def cmd_sim(args):
    if args.board == "microbit":
        from . import qemu_microbit
        if args.dir:
            raise MicronnError("--dir: an emulated micro:bit keeps its files in its own flash")
        try:
            return qemu_microbit.serve(args.link, say=out)
        except qemu_microbit.EmulatorError as e:
            raise MicronnError(str(e))
    from . import sim
    sim.run(args.board, args.dir, args.link, out=out)


def cmd_deploy(args):
    from .board import connect
    with connect(args.port, soft_reset=True) as board:
        board.deploy(source=args.source, native=not args.no_native, out=out)


def lazy(target):
    """A command function imported only when the command runs ("module:function")."""
    def run(args):
        import importlib
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module, __package__), name)(args, out=out)
    return run
