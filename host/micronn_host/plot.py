"""`micronn plot`: the loss curve (and predictions against targets) as a PNG."""
import csv

from . import dataset
from .errors import MicronnError


def read_history(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise MicronnError("%s: %s" % (path, e.strerror or e))
    try:
        pts = [(int(r[0]), float(r[1])) for r in rows[1:] if r]
    except (ValueError, IndexError):
        raise MicronnError("%s: not a loss history (expected lines of epoch,loss)" % path)
    if not pts:
        raise MicronnError("%s has no points" % path)
    return pts


def run_plot(args, out=print):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MicronnError("plotting needs matplotlib: pip install matplotlib")
    pts = read_history(args.history)
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
