"""How good a model is on labelled rows, counted one row at a time.

A board evaluates data larger than its heap by feeding rows in chunks, so both tallies keep
only running counts and sums (nothing per row):

    c = metrics.Confusion(3)                # a classifier with 3 classes
    c.add(top(outputs), top(targets))       # per row: predicted and true class index
    c.report(classes)                       # accuracy, matrix, per-class precision/recall/F1

    r = metrics.Regression(2)               # a model with 2 numeric outputs
    r.add(outputs, targets, 0)              # per row
    r.report()                              # mse, mae, r2 (and per output)

Definitions follow the usual ones (scikit-learn's): the confusion matrix has the true class
down and the predicted class across; a class never predicted has precision 0, one never
present recall 0; R^2 is 1 - SSE/SST per output, averaged over outputs (a constant target:
1 when predicted exactly, else 0).
"""
from .meta import top


class Confusion:
    """A k-class confusion matrix, counted row by row: m[true][predicted]."""

    def __init__(self, k):
        if k < 2:
            raise ValueError("a classifier has at least 2 classes, got %d" % k)
        self.k = k
        self.m = [[0] * k for _ in range(k)]
        self.n = 0

    def add(self, predicted, true):
        self.m[true][predicted] += 1
        self.n += 1

    def accuracy(self):
        return sum(self.m[i][i] for i in range(self.k)) / self.n if self.n else 0.0

    def report(self, classes=None):
        """{accuracy, rows, confusion, classes, per_class: {name: {precision, recall, f1,
        support}}, macro_f1}."""
        k, m = self.k, self.m
        names = list(classes) if classes else [str(i) for i in range(k)]
        per = {}
        f1s = 0.0
        for c in range(k):
            tp = m[c][c]
            predicted = sum(m[r][c] for r in range(k))
            support = sum(m[c])
            p = tp / predicted if predicted else 0.0
            r = tp / support if support else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            f1s += f
            per[names[c]] = {"precision": p, "recall": r, "f1": f, "support": support}
        return {"accuracy": self.accuracy(), "rows": self.n, "classes": names,
                "confusion": [list(row) for row in m], "per_class": per, "macro_f1": f1s / k}


class Regression:
    """Squared and absolute errors and the targets' sums per output, counted row by row."""

    def __init__(self, k):
        self.k = k
        self.n = 0
        self.se = [0.0] * k         # sum of squared errors
        self.ae = [0.0] * k         # sum of absolute errors
        self.mean = [0.0] * k       # the targets' running mean (Welford)
        self.ss = [0.0] * k         # and their sum of squared deviations

    def add(self, y, T, off=0):
        """One row: outputs y[0:k], targets T[off:off+k]."""
        self.n += 1
        n = self.n
        for j in range(self.k):
            t = T[off + j]
            e = y[j] - t
            self.se[j] += e * e
            self.ae[j] += e if e >= 0 else -e
            d = t - self.mean[j]
            self.mean[j] += d / n
            self.ss[j] += d * (t - self.mean[j])

    def r2(self, j):
        """1 - SSE/SST; for a constant target 1.0 when predicted exactly, else 0.0 (as
        scikit-learn's r2_score)."""
        if self.ss[j] > 0:
            return 1.0 - self.se[j] / self.ss[j]
        return 1.0 if self.se[j] == 0 else 0.0

    def report(self, targets=None):
        """{mse, mae, r2, rows, per_output: {name: {mse, mae, r2}}}: mse and mae over every
        output of every row, r2 the mean of the outputs' R^2."""
        n, k = self.n or 1, self.k
        names = list(targets) if targets else [str(j) for j in range(k)]
        per = {}
        for j in range(k):
            per[names[j]] = {"mse": self.se[j] / n, "mae": self.ae[j] / n, "r2": self.r2(j)}
        return {"mse": sum(self.se) / (n * k), "mae": sum(self.ae) / (n * k),
                "r2": sum(self.r2(j) for j in range(k)) / k, "rows": self.n, "per_output": per}


def tally(model, n_out=None):
    """The tally that fits a model: Confusion for one with class names, else Regression."""
    n_out = n_out or model.sizes[-1]
    if model.classes:
        return Confusion(len(model.classes))
    return Regression(n_out)


def add_row(t, outputs, T, off, n_out):
    """Count one row in tally t (Confusion or Regression): outputs, targets T[off:off+n_out]."""
    if isinstance(t, Confusion):
        t.add(top(outputs, 0, n_out), top(T, off, n_out))
    else:
        t.add(outputs, T, off)


def evaluate(model, X, Y):
    """The report (Confusion's for a model with class names, else Regression's) of a model (a
    Network or QNetwork) on rows X with targets Y (one-hot rows for a classifier)."""
    from .data import length
    t = tally(model)
    k = model.sizes[-1]
    for x, y in zip(X, Y):
        if length(y) < 0:
            y = (y,)
        add_row(t, model.predict(x), y, 0, k)
    return t.report(model.classes) if model.classes else t.report(model.targets)
