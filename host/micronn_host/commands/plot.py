"""`micronn plot`: the loss curve (and accuracy, and predictions or a confusion matrix) as a PNG."""
from ..errors import MicronnError
from . import history

HELP = "draw the training curves (and predictions vs targets, or a confusion matrix) to a PNG"
DESCRIPTION = ("Draw the history that train or fit wrote (--history): the loss and, when measured, the validation "
               "loss; for a classifier the accuracy on the training and validation rows too. With --model and "
               "--data: a classifier's confusion matrix on the data, or a regression model's predictions next "
               "to the targets.")
EXAMPLE = "micronn plot loss.csv --model model.mnn --data data.csv -o loss.png"


def arguments(p):
    p.add_argument("history", help="loss history CSV from train/fit --history")
    p.add_argument("--model", help="a model file, to plot its predictions (or confusion matrix) for --data")
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
    h = history.read(args.history)
    acc = any(v is not None for k in ("accuracy", "val_accuracy") for v in h.get(k, []))
    net = data = None
    if args.model and args.data:
        from .evaluate import load_file
        net = load_file(args.model)
        data = dataset.select(dataset.read_table(args.data), None, None, None, model=net)
    panels = 1 + acc + (net is not None)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    _curve(ax, h, "loss", "training", "tab:blue")
    _curve(ax, h, "val_loss", "validation", "tab:orange")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss per epoch")
    if "val_loss" in h:
        ax.legend()
    ax.grid(alpha=0.3)
    k = 1
    if acc:
        bx = axes[0][1]
        _curve(bx, h, "accuracy", "training", "tab:blue")
        _curve(bx, h, "val_accuracy", "validation", "tab:orange")
        bx.set_xlabel("epoch")
        bx.set_ylabel("accuracy")
        bx.set_ylim(0, 1.02)
        bx.set_title("accuracy")
        bx.legend()
        bx.grid(alpha=0.3)
        k = 2
    if net is not None:
        cx = axes[0][k]
        if net.classes:
            from micronn import metrics
            rep = metrics.evaluate(net, data.X, data.Y)
            m = rep["confusion"]
            cx.imshow(m, cmap="Blues")
            names = rep["classes"]
            cx.set_xticks(range(len(names)))
            cx.set_xticklabels(names, rotation=45, ha="right")
            cx.set_yticks(range(len(names)))
            cx.set_yticklabels(names)
            top = max(max(row) for row in m) or 1
            for i, row in enumerate(m):
                for j, v in enumerate(row):
                    cx.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
            cx.set_xlabel("predicted")
            cx.set_ylabel("true")
            cx.set_title("confusion matrix, accuracy %.1f%%" % (100 * rep["accuracy"]))
        else:
            P = net.predict_many(data.X)
            idx = list(range(len(data.X)))
            for j in range(net.sizes[-1]):
                cx.plot(idx, [y[j] for y in data.Y], "o", color="tab:green", label="target" if j == 0 else None)
                cx.plot(idx, [p[j] for p in P], "x", color="tab:red", ms=9, label="prediction" if j == 0 else None)
            cx.set_xlabel("sample")
            cx.set_title("predictions vs targets")
            cx.legend()
            cx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output_file, dpi=110)
    out("plot written to %s" % args.output_file)


def _curve(ax, h, name, label, color):
    pts = [(e, v) for e, v in zip(h["epoch"], h.get(name, [])) if v is not None]
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=color, label=label,
                marker="." if len(pts) < 30 else None)
