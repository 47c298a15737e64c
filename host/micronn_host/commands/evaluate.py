"""`micronn evaluate`: how good a model is on labelled data, on the board or here."""
import json

from ..errors import MicronnError
from . import options

HELP = "measure a model on labelled data: accuracy and confusion matrix, or MSE, MAE and R²"
DESCRIPTION = ("Run model NAME on the board (which reads the rows from its flash in chunks, so the data may be "
               "larger than its heap), or a model file here with --file, on every row of a CSV and report: for a "
               "classifier the accuracy, the confusion matrix with the class names and each class's precision, "
               "recall and F1; otherwise MSE, MAE and R². The columns are the model's (by name when the file "
               "has a header); --target defaults to the target the model was trained on.")
EXAMPLE = "micronn evaluate test.csv --model wine"


def arguments(p):
    options.port(p)
    options.columns(p, "CSV with the model's inputs and its target (labels for a classifier)")
    p.add_argument("--model", "-m", default=None, help="model name on the board: /models/NAME.mnn (default: model)")
    p.add_argument("--file", "-f", help="a model file to evaluate here instead of on the board")
    p.add_argument("--json", action="store_true", help="print one JSON object (its top level has accuracy for a "
                   "classifier, mse otherwise)")


def load_file(path):
    import micronn
    try:
        return micronn.load(path)
    except OSError as e:
        raise MicronnError("%s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise MicronnError(str(e))


def run(args, out=print):
    from micronn import metrics
    from .. import dataset
    if args.file and args.model:
        raise MicronnError("--model names a model on the board and --file one here: give one of them")
    table = dataset.read_table(args.data)
    if args.file:
        net = load_file(args.file)
        data = dataset.select(table, args.target, args.inputs, args.ignore, model=net)
        rep = metrics.evaluate(net, data.X, data.Y)
        where = args.file
    else:
        from ..boards import connect
        from .prepare import Described
        name = args.model or "model"
        with connect(args.port, soft_reset=True) as board:     # a heap in one piece
            info = board.describe(name)
            if info is None:
                raise MicronnError("no model %s on the board" % board.where(name))
            desc = Described(info)
            data = dataset.select(table, args.target, args.inputs, args.ignore, model=desc)
            rep = board.evaluate(name, data.X, data.Y, desc.classes, desc.targets)
            where = "%s on the board" % board.where(name)
    rep["model"], rep["data"] = where, args.data
    if args.json:
        out(json.dumps(rep))
        return rep
    for line in report_lines(rep):
        out(line)
    return rep


def report_lines(rep):
    """The report in words and tables."""
    lines = ["%s on %s (%d rows):" % (rep["model"], rep["data"], rep["rows"])]
    if "accuracy" in rep:
        names = rep["classes"]
        right = sum(rep["confusion"][i][i] for i in range(len(names)))
        lines.append("accuracy %.1f%% (%d of %d)" % (100 * rep["accuracy"], right, rep["rows"]))
        w = max([len(n) for n in names] + [6])
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        lines.append(" " * (w + 2) + " ".join("%*s" % (max(len(n), 5), n) for n in names))
        for n, row in zip(names, rep["confusion"]):
            lines.append("%-*s  " % (w, n) + " ".join("%*d" % (max(len(c), 5), v) for c, v in zip(names, row)))
        lines.append("")
        lines.append("%-*s  precision  recall     F1  support" % (w, "class"))
        for n in names:
            c = rep["per_class"][n]
            lines.append("%-*s  %9.3f  %6.3f  %5.3f  %7d" % (w, n, c["precision"], c["recall"], c["f1"], c["support"]))
        lines.append("%-*s  %9s  %6s  %5.3f" % (w, "macro F1", "", "", rep["macro_f1"]))
    else:
        lines.append("MSE %.6g  MAE %.6g  R² %.4f" % (rep["mse"], rep["mae"], rep["r2"]))
        if len(rep["per_output"]) > 1:
            for n, m in rep["per_output"].items():
                lines.append("  %s: MSE %.6g  MAE %.6g  R² %.4f" % (n, m["mse"], m["mae"], m["r2"]))
    return lines
