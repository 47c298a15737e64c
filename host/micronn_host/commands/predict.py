"""`micronn predict`: run a model on the board."""
import json

from ..errors import DataError, MicronnError
from . import options

HELP = "run a model on the board"
DESCRIPTION = ("Compute model NAME's outputs on the board for one sample given on the command line, or for "
               "every row of a CSV file (its columns chosen by the model's input names when it has a header); "
               "a classifier prints the class name and its probability per row. --compare also runs the model "
               "here and prints the largest difference.")
EXAMPLE = "micronn predict 1 0 1"


def arguments(p):
    options.port(p)
    options.model(p)
    p.add_argument("values", nargs="*", help="one sample's inputs")
    p.add_argument("--csv", help="a CSV of inputs (extra columns are shown as targets)")
    p.add_argument("--json", action="store_true", help="print JSON: a list of output lists, or for a classifier a "
                   "list of {label, probability, outputs}")
    p.add_argument("--compare", action="store_true", help="also run the model here; print the largest difference")


def run(args, out=print):
    from .. import dataset
    from ..boards import connect
    from .prepare import Described
    from .fetch import read_model
    targets = None
    with connect(args.port, soft_reset=True) as board:     # a heap in one piece
        where = board.where(args.model)
        model = read_model(board.fetch(args.model)[0], where) if args.compare else None
        info = board.describe(args.model)
        if info is None:
            board.inputs(args.model)        # says which models there are
            raise MicronnError("no model %s on the board" % where)
        desc = Described(info)
        n_in = desc.sizes[0]
        if args.csv:
            data = dataset.select(dataset.read_table(args.csv), None, None, None, model=desc, need_targets=False)
            X = data.X
            if data.Y is not None:
                targets = [data.classes[i] for i in data.labels] if data.classes else data.Y
        else:
            if not args.values:
                raise MicronnError("give the input values, or --csv FILE")
            X = [[_value(v, i) for i, v in enumerate(args.values, 1)]]
            if len(X[0]) != n_in:
                raise DataError("%d values given; the model %s has %d inputs%s" % (
                    len(X[0]), where, n_in, " (%s)" % ", ".join(desc.inputs) if desc.inputs else ""))
        rows = board.predict(args.model, X)
    classes = desc.classes
    if args.json:
        out(json.dumps([labelled(r, classes) for r in rows] if classes else rows))
    else:
        for i, r in enumerate(rows):
            if classes:
                d = labelled(r, classes)
                line = "%s %.4f" % (d["label"], d["probability"])
            else:
                line = " ".join("%.6f" % v for v in r)
            if targets:
                t = targets[i]
                line += "    target " + (t if isinstance(t, str) else " ".join("%g" % v for v in t))
            out(line)
    if args.compare:
        host = model.predict_many(dataset.as_float32(X))
        diff = max(abs(a - b) for ra, rb in zip(rows, host) for a, b in zip(ra, rb))
        out("largest difference between the board and this computer: %.3g" % diff)
    return rows


def labelled(outputs, classes):
    """{label, probability, outputs} of a classifier's outputs: the class with the largest output
    (for a single sigmoid output, the second class when it is >= 0.5)."""
    from micronn.meta import top
    k = top(outputs)
    p = outputs[k] if len(outputs) > 1 else (outputs[0] if k else 1.0 - outputs[0])
    return {"label": classes[k], "probability": p, "outputs": outputs}


def _value(text, i):
    try:
        return float(text)
    except ValueError:
        raise DataError("value %d: %r is not a number" % (i, text))
