"""Input scaling that lives in the model, so a board predicts on raw readings.

A Scaler maps each input x_i to (x_i - offset_i) * factor_i:

- "standard": offset the mean, factor 1 / standard deviation (population) of the rows it was
  fitted on;
- "minmax": offset the minimum, factor 1 / (maximum - minimum), so the rows span [0, 1].

A constant column (deviation or range 0) gets factor 1: it is only shifted, never divided by 0.
Offsets and factors are float32 arrays (4 bytes each per input), stored in the model file.
"""
import array

KINDS = ("standard", "minmax")


class Scaler:
    def __init__(self, kind, offset, factor):
        if kind not in KINDS:
            raise ValueError("unknown scaling %r; expected one of %s" % (kind, ", ".join(KINDS)))
        self.kind = kind
        self.offset = offset
        self.factor = factor

    def apply(self, x):
        """Scale one sample in place (a list or an array of floats)."""
        o, f = self.offset, self.factor
        for i in range(len(o)):
            x[i] = (x[i] - o[i]) * f[i]

    def __repr__(self):
        return "Scaler(%r, %d inputs)" % (self.kind, len(self.offset))


def fit(X, n_in, kind="standard"):
    """A Scaler fitted on rows X (a list of rows, a flat array of whole rows of n_in values, or a
    data file's rows: datafile.Rows).

    One pass with running sums per input (float64 on CPython, the port's floats on a board):
    no copy of the data is made.
    """
    if kind not in KINDS:
        raise ValueError("unknown scaling %r; expected one of %s" % (kind, ", ".join(KINDS)))
    flat = isinstance(X, array.array)
    n = len(X) // n_in if flat else len(X)
    if n < 1:
        raise ValueError("scaling needs at least one row")
    a = [0.0] * n_in        # mean, or minimum
    b = [0.0] * n_in        # sum of squared deviations (Welford), or maximum
    for r in range(n):
        row, off = (X, r * n_in) if flat else (X[r], 0)     # a data file's row is read once
        for i in range(n_in):
            v = row[off + i]
            if kind == "minmax":
                if r == 0 or v < a[i]:
                    a[i] = v
                if r == 0 or v > b[i]:
                    b[i] = v
            else:
                d = v - a[i]
                a[i] += d / (r + 1)
                b[i] += d * (v - a[i])
    offset = array.array("f", a)
    factor = array.array("f", bytearray(4 * n_in))
    for i in range(n_in):
        spread = (b[i] / n) ** 0.5 if kind == "standard" else b[i] - a[i]
        factor[i] = 1.0 / spread if spread > 0 else 1.0
    return Scaler(kind, offset, factor)
