"""Arguments that several commands share: the port, the model name, and every training option.

The training options are built from micronn.job.FIELDS, so a new field there is a new flag of
`micronn train` and `micronn fit` without a change here.
"""
from micronn import job as jobs
from micronn.data import whole_number

from ..errors import MicronnError

ARGPARSE_TYPES = {"int": int, "float": float, "name": str}
SHORT = {"layers": "-l"}        # short spellings kept from the first versions of the command


def port(p):
    p.add_argument("--port", "-p", help="serial port of the board (default: $MICRONN_PORT, else the one "
                   "USB serial board connected)")


def model(p):
    p.add_argument("--model", "-m", default="model", help="model name on the board: /models/NAME.mnn "
                   "(default: model)")


def training(p):
    """The data file, the job's fields, --outputs and --history."""
    p.add_argument("data", help="numeric CSV: inputs then targets per line (optional header)")
    p.add_argument("--outputs", type=int, default=1, help="how many of the last columns are targets (default 1)")
    for name, _, default, kind, text in jobs.FIELDS:
        flag = "--" + name.replace("_", "-")
        if kind == "flag":
            p.add_argument("--no-" + name.replace("_", "-"), dest=name, action="store_false", default=default,
                           help=text)
        elif kind == "sizes":
            p.add_argument(flag, *SHORT.get(name, "").split(), dest=name, required=default is None,
                           metavar="SIZES", help=text)
        else:
            p.add_argument(flag, *SHORT.get(name, "").split(), dest=name, type=ARGPARSE_TYPES[kind],
                           default=default, help=text)
    p.add_argument("--history", help="write the loss curve to this CSV (epoch,loss) for `micronn plot`")


def job(args):
    """The checked training job the command line describes, and --outputs checked (MicronnError
    in one line when something is wrong: before any file is read or any port opened)."""
    options = {}
    for name, _, _, kind, _ in jobs.FIELDS:
        value = getattr(args, name)
        if kind == "sizes" and isinstance(value, str):
            value = layers(value, "--" + name)
        options[name] = value
    try:
        whole_number(args.outputs, "--outputs", 1)
        return jobs.make(options)
    except (ValueError, TypeError) as e:
        raise MicronnError(flag_names(str(e).strip("'")))


def flag_names(message):
    """The library's message with a field's name at its start spelled as the flag: "batch_size
    must be ..." -> "--batch-size must be ..."."""
    for name in jobs.defaults():
        if message.startswith(name + " ") or message.startswith(name + ":"):
            return "--" + name.replace("_", "-") + message[len(name):]
    return message


def seconds(value, flag, meaning_of_zero):
    """A number of seconds from the command line: finite and >= 0 (MicronnError otherwise)."""
    if not 0 <= value < float("inf"):       # also false for nan
        raise MicronnError("%s must be a finite number of seconds >= 0 (0: %s), got %s"
                           % (flag, meaning_of_zero, value))
    return value


def layers(text, flag="--layers"):
    try:
        sizes = jobs.parse_sizes(text)
    except ValueError as e:
        raise MicronnError("%s %s" % (flag, e))
    if len(sizes) < 2 or min(sizes) < 1:
        raise MicronnError("%s %r: need at least an input and an output size, each >= 1" % (flag, text))
    return sizes
