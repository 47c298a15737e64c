"""`micronn quantize`: an int8 copy of a float model, on this computer."""
import os

from ..errors import MicronnError
from . import options

HELP = "make an int8 copy of a model file (one byte a weight), calibrated on data"
DESCRIPTION = ("Write an int8 copy of a float model (its input scaling, class and column names kept), calibrated "
               "on the rows of --data (their input range and each hidden layer's); print the largest difference "
               "between the two models' outputs on those rows and, for a classifier, both models' accuracy there. "
               "Without --data the inputs are taken to be in [-1, 1] after the model's scaling.")
EXAMPLE = "micronn quantize wine.mnn -o wine8.mnn --data wine.csv"


def arguments(p):
    p.add_argument("file", help="a float model (.mnn or JSON)")
    p.add_argument("-o", dest="output_file", required=True, help="the int8 model file to write (.mnn)")
    p.add_argument("--data", help="CSV with the model's input columns (and its target, to compare accuracies)")
    p.add_argument("--target", "-t", action="append", metavar="COLUMN",
                   help="the target column (default: the one the model was trained on)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")


def run(args, out=print):
    import micronn
    from micronn import metrics
    from .. import dataset
    from .evaluate import load_file
    if os.path.abspath(args.output_file) == os.path.abspath(args.file):
        raise MicronnError("-o %s is the model being quantized: write the int8 copy to another file" % args.file)
    if os.path.exists(args.output_file) and not args.overwrite:
        raise MicronnError("%s exists: --overwrite to replace it, or another -o" % args.output_file)
    net = load_file(args.file)
    if net.dtype == "b":
        raise MicronnError("%s is already an int8 model" % args.file)
    data = None
    if args.data:
        table = dataset.read_table(args.data)
        data = dataset.select(table, args.target, None, None, model=net, need_targets=False)
    try:
        q = micronn.quantize(net, X=data.X if data else None)
    except ValueError as e:
        raise MicronnError(str(e))
    options.save_model(q, args.output_file)
    out("wrote %s: int8, %s, %d bytes (the float model: %d)" % (args.output_file, options.shape(q),
                                                               os.path.getsize(args.output_file),
                                                               os.path.getsize(args.file)))
    if data is None:
        out("(no --data: calibrated for inputs in [-1, 1] after scaling; pass --data to calibrate and compare)")
        return
    worst = 0.0
    for x in data.X:
        a, b = net.predict(x), q.predict(x)
        worst = max(worst, max(abs(u - v) for u, v in zip(a, b)))
    out("largest output difference on %s (%d rows): %.4g" % (args.data, len(data.X), worst))
    if data.Y is not None and net.classes:
        fa = metrics.evaluate(net, data.X, data.Y)["accuracy"]
        qa = metrics.evaluate(q, data.X, data.Y)["accuracy"]
        out("accuracy on %s: float %.1f%%, int8 %.1f%%" % (args.data, 100 * fa, 100 * qa))
    elif data.Y is not None:
        out("MSE on %s: float %.6g, int8 %.6g" % (args.data, metrics.evaluate(net, data.X, data.Y)["mse"],
                                                   metrics.evaluate(q, data.X, data.Y)["mse"]))
