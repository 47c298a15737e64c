"""The loss history file of `micronn train` and `fit` (--history), which `micronn plot` reads."""
import csv

from ..errors import MicronnError
from ..files import write_atomic


class Curve:
    """The loss curve as it streams in: point j is at epoch min(every * (j + 1), epochs)."""

    def __init__(self, job):
        self.every, self.total = job["fit"]["every"], job["fit"]["epochs"]
        self.epochs, self.losses = [], []

    def add(self, loss, epoch=None):
        self.epochs.append(epoch or min(self.every * (len(self.losses) + 1), self.total))
        self.losses.append(loss)

    def save(self, path):
        if path:
            write_atomic(path, "epoch,loss\n" + "".join("%d,%.9g\n" % p for p in zip(self.epochs, self.losses)))


def read(path):
    """[(epoch, loss)] from a history file."""
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
