"""Arguments that several commands share: the port, the model name, and every training option.

The training options are built from micronn.job.FIELDS, so a new field there is a new flag of
`micronn train` and `micronn fit` without a change here.
"""
from micronn import job as jobs
from micronn.data import whole_number

from ..errors import MicronnError

# what a float32 board reads a number as: beyond F32_MAX it is inf, below F32_TINY it is 0
F32_MAX = 3.4028234663852886e38
F32_TINY = 1.401298464324817e-45

ARGPARSE_TYPES = {"int": int, "float": float, "name": str}
SHORT = {"layers": "-l"}        # short spellings kept from the first versions of the command


def port(p):
    p.add_argument("--port", "-p", help="serial port of the board (default: $MICRONN_PORT, else the one "
                   "USB serial board connected)")


def model(p):
    p.add_argument("--model", "-m", default="model", help="model name on the board: /models/NAME.mnn "
                   "(default: model)")


LAYERS_HELP = ("layer sizes, e.g. 16 (one hidden layer of 16; the inputs and outputs come from the data) or "
               "13,16,3 (all of them, checked against the data); with convolutions over windows of LENGTH "
               "readings of CHANNELS values (each row flattened channel-last): LENGTHxCHANNELS first, then "
               "conv<filters>k<kernel>[s<stride>][same], maxpool<size>, avgpool<size>, gap, then dense sizes, "
               "e.g. 50x3,conv8k5,maxpool2,16 (the outputs from the data)")


def columns(p, data_help="CSV with a header line: a column per input and target (numbers; a "
            "classifier's target may be text, its class names)"):
    """The data file and how its columns are chosen."""
    p.add_argument("data", help=data_help)
    p.add_argument("--target", "-t", action="append", metavar="COLUMN",
                   help="target column, by name or number from 0 (repeat, or separate by commas, for several "
                   "numeric targets; default: the model's, else the last column)")
    p.add_argument("--inputs", action="append", metavar="COLUMNS",
                   help="input columns, comma-separated (default: every column that is not a target or ignored)")
    p.add_argument("--ignore", action="append", metavar="COLUMNS", help="columns to leave out, comma-separated")


def training(p):
    """The data file, its columns, the job's fields, --outputs, --classes, --val-data, --resume,
    --overwrite and --history."""
    columns(p)
    p.add_argument("--outputs", type=int, default=1, help="without --target: how many of the last columns are "
                   "numeric targets (default 1)")
    p.add_argument("--classes", action="store_true", help="the target's values are class labels even when they "
                   "are numbers (a target with text always is): a classifier, softmax output and cce loss by "
                   "default, one output per class")
    for name, _, default, kind, text in jobs.FIELDS:
        flag = "--" + name.replace("_", "-")
        if kind == "flag":
            p.add_argument("--no-" + name.replace("_", "-"), dest=name, action="store_false", default=None,
                           help=text)
        elif kind == "sizes":
            p.add_argument(flag, *SHORT.get(name, "").split(), dest=name, metavar="SIZES",
                           help=LAYERS_HELP if name == "layers" else text)
        else:
            p.add_argument(flag, *SHORT.get(name, "").split(), dest=name, type=ARGPARSE_TYPES[kind],
                           default=None, help=text)
    p.add_argument("--val-data", metavar="CSV", help="validation rows from another file with the same columns "
                   "(instead of --val)")
    p.add_argument("--resume", action="store_true", help="continue training the existing model (its weights, "
                   "input scaling and classes; the optimizer starts afresh) on this data, whose columns must be "
                   "the model's")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model of the same name with a "
                   "new one (without it, training into an existing name is refused, so a good model is never "
                   "replaced by accident)")
    p.add_argument("--history", help="write the loss curve to this CSV (epoch, loss and, when measured, "
                   "val_loss, accuracy, val_accuracy) for `micronn plot`")


def given(args):
    """{field: value} of the training options given on the command line (None: not given)."""
    out = {}
    for name, _, _, kind, _ in jobs.FIELDS:
        value = getattr(args, name, None)
        if value is not None:
            if kind == "sizes" and isinstance(value, str):
                value = sizes(value, "--" + name)
            out[name] = value
    return out


def job(args, options=None):
    """The checked training job: the options given (or `options`, the command line's filled in
    from the data), --outputs checked (MicronnError in one line when something is wrong)."""
    options = given(args) if options is None else options
    try:
        whole_number(args.outputs, "--outputs", 1)
        return jobs.make(options)
    except (ValueError, TypeError) as e:
        raise MicronnError(flag_names(str(e).strip("'")))


def check_early(args):
    """What can be checked before the data is read (MicronnError in one line)."""
    from micronn.network import check_fit
    from micronn.runner import check_run
    d = jobs.defaults()
    d.update(given(args))
    try:
        whole_number(args.outputs, "--outputs", 1)
        check_fit(d["epochs"], d["lr"], d["batch_size"], d["optimizer"], 1, d["scale"])
        check_run(d["val"], d["patience"], d["val"] is not None or bool(args.val_data))
    except (ValueError, TypeError) as e:
        raise MicronnError(flag_names(str(e).strip("'")))
    if not F32_TINY <= d["lr"] <= F32_MAX:
        raise MicronnError("--lr must be a number that float32 can hold, %.2g to %.3g (the weights are float32, "
                           "on a board the arithmetic too), got %r" % (F32_TINY, F32_MAX, d["lr"]))
    if d["layers"] is None and not args.resume:
        raise MicronnError("%s: the following arguments are required: --layers/-l (see `micronn %s --help`)"
                           % (args.command, args.command))
    if args.val_data and d["val"] is not None:
        raise MicronnError("--val and --val-data: give one of them")
    if args.resume and args.overwrite:
        raise MicronnError("--resume continues the model and --overwrite replaces it: give one of them")


def flag_names(message):
    """The library's message with a field's name at its start spelled as the flag: "batch_size
    must be ..." -> "--batch-size must be ..."."""
    for name in jobs.defaults():
        if message.startswith(name + " ") or message.startswith(name + ":"):
            return "--" + name.replace("_", "-") + message[len(name):]
    return message


def seconds(value, flag, meaning_of_zero):
    """A number of seconds from the command line: finite, >= 0 and one that a float32 board
    can hold (MicronnError otherwise)."""
    if not 0 <= value < float("inf"):       # also false for nan
        raise MicronnError("%s must be a finite number of seconds >= 0 (0: %s), got %s"
                           % (flag, meaning_of_zero, value))
    if value > F32_MAX:
        raise MicronnError("%s must be at most %.3g seconds, the most float32 can hold (a board would read "
                           "it as inf), got %s" % (flag, F32_MAX, value))
    return value


def sizes(text, flag="--layers"):
    try:
        sizes = jobs.parse_sizes(text)
    except ValueError as e:
        raise MicronnError("%s %s" % (flag, e))
    if min([s for s in sizes if type(s) is int] or [1]) < 1:
        raise MicronnError("%s %r: sizes must be >= 1" % (flag, text))
    return sizes


def shape(model):
    """A model's shape in words: 3-4-1, or its layer specs (50x3-conv8k5-maxpool2-16-3); model is
    a model or a description (a dict with layers and perhaps spec)."""
    if isinstance(model, dict):
        spec, sizes = model.get("spec"), model.get("layers")
    else:
        spec, sizes = getattr(model, "spec", None), model.sizes
    return "-".join(map(str, spec or sizes))


def save_model(net, path):
    """Write a model to -o PATH atomically: the readable JSON form for a .json name, else .mnn."""
    fmt = "json" if str(path).lower().endswith(".json") else "mnn"
    try:
        net.save(path, format=fmt)
    except (OSError, ValueError) as e:
        raise MicronnError("%s: %s" % (path, getattr(e, "strerror", None) or e))


def in_all(before, total):
    """What a resumed run adds to "trained N epochs": the model's epochs in all."""
    return " (%d in all)" % total if before else ""
