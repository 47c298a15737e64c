"""The loss history file of `micronn train` and `fit` (--history), which `micronn plot` reads.

CSV: epoch, loss, then the columns the run measured: val_loss, accuracy (on the training rows,
measured less often: empty cells between), val_accuracy."""
import csv

from ..errors import MicronnError
from ..files import write_atomic

SCORES = ("val_loss", "accuracy", "val_accuracy")


class Curve:
    """The loss curve as it streams in: point j is at epoch min(every * (j + 1), epochs) unless
    the epoch is given."""

    def __init__(self, job, before=0):
        self.every, self.total = job["fit"]["every"], job["fit"]["epochs"]
        self.before = before
        self.epochs, self.losses = [], []
        self.scores = dict((k, []) for k in SCORES)

    def add(self, loss, epoch=None, scores=None):
        self.epochs.append(epoch or self.before + min(self.every * (len(self.losses) + 1), self.total))
        self.losses.append(loss)
        for k in SCORES:
            v = (scores or {}).get(k)
            self.scores[k].append(None if v is None or v != v else v)

    def last(self, name):
        """The latest value of a score, or None."""
        for v in reversed(self.scores[name]):
            if v is not None:
                return v
        return None

    def text(self):
        cols = [k for k in SCORES if any(v is not None for v in self.scores[k])]
        lines = [",".join(["epoch", "loss"] + cols)]
        for j, (e, l) in enumerate(zip(self.epochs, self.losses)):
            lines.append(",".join(["%d" % e, "%.9g" % l] + ["" if self.scores[k][j] is None
                                                              else "%.9g" % self.scores[k][j] for k in cols]))
        return "\n".join(lines) + "\n"

    def save(self, path):
        if path:
            write_atomic(path, self.text())


def read(path):
    """{column: [values]} from a history file (epoch and loss always; None where a score was
    not measured)."""
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except OSError as e:
        raise MicronnError("%s: %s" % (path, e.strerror or e))
    if not rows or rows[0][:2] != ["epoch", "loss"]:
        raise MicronnError("%s: not a loss history (expected a header epoch,loss,... and lines of numbers)" % path)
    cols = rows[0]
    out = dict((c, []) for c in cols)
    try:
        for r in rows[1:]:
            for c, v in zip(cols, r + [""] * (len(cols) - len(r))):
                out[c].append(None if v == "" else (int(v) if c == "epoch" else float(v)))
    except ValueError:
        raise MicronnError("%s: not a loss history (expected lines of numbers under epoch,loss,...)" % path)
    if not out["epoch"]:
        raise MicronnError("%s has no points" % path)
    return out
