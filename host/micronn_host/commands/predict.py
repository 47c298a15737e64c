"""`micronn predict`: run a model on the board."""
import json

from ..errors import DataError, MicronnError
from . import options

HELP = "run a model on the board"
DESCRIPTION = ("Compute model NAME's outputs on the board for one sample given on the command line, or for "
               "every row of a CSV file; --compare also runs the model here and prints the largest "
               "difference.")
EXAMPLE = "micronn predict 1 0 1"


def arguments(p):
    options.port(p)
    options.model(p)
    p.add_argument("values", nargs="*", help="one sample's inputs")
    p.add_argument("--csv", help="a CSV of inputs (extra columns are shown as targets)")
    p.add_argument("--json", action="store_true", help="print a JSON list of output lists")
    p.add_argument("--compare", action="store_true", help="also run the model here; print the largest difference")


def run(args, out=print):
    from .. import dataset
    from ..boards import connect
    from .fetch import read_model
    targets = None
    with connect(args.port) as board:
        where = board.where(args.model)
        model = read_model(board.fetch(args.model)[0], where) if args.compare else None
        n_in = model.sizes[0] if model else board.inputs(args.model)
        if args.csv:
            table = dataset.read_csv(args.csv)
            if table.width == n_in:
                X = table.rows
            elif table.width > n_in:
                X, targets = [r[:n_in] for r in table.rows], [r[n_in:] for r in table.rows]
            else:
                raise DataError("%s has %d columns; the model %s has %d inputs"
                                % (args.csv, table.width, where, n_in))
        else:
            if not args.values:
                raise MicronnError("give the input values, or --csv FILE")
            X = [[_value(v, i) for i, v in enumerate(args.values, 1)]]
            if len(X[0]) != n_in:
                raise DataError("%d values given; the model %s has %d inputs" % (len(X[0]), where, n_in))
        rows = board.predict(args.model, X)
    if args.json:
        out(json.dumps(rows))
    else:
        for i, r in enumerate(rows):
            line = " ".join("%.6f" % v for v in r)
            if targets:
                line += "    target " + " ".join("%g" % v for v in targets[i])
            out(line)
    if args.compare:
        host = model.predict_many(dataset.as_float32(X))
        diff = max(abs(a - b) for ra, rb in zip(rows, host) for a, b in zip(ra, rb))
        out("largest difference between the board and this computer: %.3g" % diff)
    return rows


def _value(text, i):
    try:
        return float(text)
    except ValueError:
        raise DataError("value %d: %r is not a number" % (i, text))
