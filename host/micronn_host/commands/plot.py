"""`micronn plot`: the loss curve (and predictions against targets) as a PNG."""
from ..errors import MicronnError
from . import history

HELP = "draw a loss curve (and predictions vs targets) to a PNG"
DESCRIPTION = ("Draw the loss history that train or fit wrote (--history) and, with --model and --data, the "
               "model's predictions next to the targets.")
EXAMPLE = "micronn plot loss.csv --model model.mnn --data data.csv -o loss.png"


def arguments(p):
    p.add_argument("history", help="loss history CSV from train/fit --history")
    p.add_argument("--model", help="a model file, to plot its predictions for --data")
    p.add_argument("--data", help="CSV with inputs and targets")
    p.add_argument("-o", dest="output_file", default="loss.png", help="PNG to write (default loss.png)")


def run(args, out=print):
    from .. import dataset
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MicronnError("plotting needs matplotlib: pip install matplotlib")
    pts = history.read(args.history)
    panels = 2 if args.model and args.data else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss per epoch")
    ax.grid(alpha=0.3)
    if panels == 2:
        import micronn
        try:
            net = micronn.load(args.model)
        except (OSError, ValueError) as e:
            raise MicronnError(str(e))
        table = dataset.read_csv(args.data)
        n_in = net.sizes[0]
        if table.width != n_in + net.sizes[-1]:
            raise MicronnError("%s has %d columns; the model has %d inputs and %d outputs"
                               % (args.data, table.width, n_in, net.sizes[-1]))
        X, Y = [r[:n_in] for r in table.rows], [r[n_in:] for r in table.rows]
        P = net.predict_many(X)
        bx = axes[0][1]
        idx = list(range(len(X)))
        for k in range(net.sizes[-1]):
            bx.plot(idx, [y[k] for y in Y], "o", color="tab:green", label="target" if k == 0 else None)
            bx.plot(idx, [p[k] for p in P], "x", color="tab:red", ms=9, label="prediction" if k == 0 else None)
        bx.set_xlabel("sample")
        bx.set_title("predictions vs targets")
        bx.legend()
        bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output_file, dpi=110)
    out("plot written to %s" % args.output_file)
