"""micronn: train small neural networks on a MicroPython board over USB, or on this computer.

Typical session:  micronn deploy; micronn train data.csv --layers 3,4,1; micronn fetch;
micronn predict 1 0 1.   Without a board: micronn sim --link /tmp/board, then --port /tmp/board.
"""
import argparse
import sys
import textwrap

from .commands import COMMANDS, module
from .errors import MicronnError


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args, out=out)
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


class Parser(argparse.ArgumentParser):
    """Command-line mistakes in one line, like every other error (the usage is in --help)."""

    def error(self, message):
        command = self.prog.partition(" ")[2]
        sys.stderr.write("micronn: %s%s (see `%s --help`)\n" % (command + ": " if command else "", message, self.prog))
        sys.exit(2)


def build_parser():
    p = Parser(prog="micronn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        m = module(name)
        s = sub.add_parser(name, help=m.HELP, description=textwrap.fill(m.DESCRIPTION, 90),
                           epilog="example:\n  " + m.EXAMPLE,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        m.arguments(s)
        s.set_defaults(func=m.run)
    return p
