"""The command table.  Each command is a module here with HELP (one line), DESCRIPTION,
EXAMPLE, arguments(parser) and run(args, out); cli.py builds the command line from this table.
A module imports what its command needs inside run(), so `micronn --help` stays fast.  A command
named like a Python keyword lives in a module with a trailing underscore (import -> import_.py).
"""
import keyword

COMMANDS = ("sim", "deploy", "record", "train", "fit", "evaluate", "fetch", "push", "predict", "quantize", "info",
            "bench", "plot", "import", "export")


def module(name):
    import importlib
    return importlib.import_module("." + name + ("_" if keyword.iskeyword(name) else ""), __name__)
