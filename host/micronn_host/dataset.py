"""Numeric CSV files in, the compact binary data file the board reads with readinto out.

Data file ("MND", version 1), little-endian: b"MND\\x01", uint32 rows, uint16 inputs,
uint16 outputs, then every row's inputs as float32, then every row's outputs as float32.
Two flat blocks, so the board fills two arrays and never holds a list of floats.
"""
import array
import csv
import math
import struct
import sys

from .errors import DataError

MAGIC = b"MND\x01"
HEAD = 12               # the magic, rows, inputs and outputs


class Table:
    def __init__(self, path, header, rows):
        self.path, self.header, self.rows = path, header, rows

    @property
    def width(self):
        return len(self.rows[0])

    def split(self, n_outputs):
        """(X, Y): the last n_outputs columns are the targets."""
        if not 1 <= n_outputs < self.width:
            raise DataError("%s has %d columns; --outputs %d leaves no %s"
                            % (self.path, self.width, n_outputs, "inputs" if n_outputs >= self.width else "targets"))
        k = self.width - n_outputs
        return [r[:k] for r in self.rows], [r[k:] for r in self.rows]


def read_csv(path):
    """Read a numeric CSV (an optional header line); errors name the file, line and column."""
    try:
        f = open(path, newline="")
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror or e))
    header, rows, width = None, [], None
    with f:
        for lineno, fields in enumerate(csv.reader(f), 1):
            if not fields or all(not x.strip() for x in fields):
                continue
            if width is None and header is None and not rows and not _numeric(fields):
                header, width = [x.strip() for x in fields], len(fields)
                continue
            if width is not None and len(fields) != width:
                raise DataError("%s, line %d: %d columns, expected %d like the %s"
                                % (path, lineno, len(fields), width, "header" if header and not rows else "lines above"))
            width = len(fields)
            row = []
            for col, text in enumerate(fields, 1):
                try:
                    v = float(text)
                except ValueError:
                    raise DataError("%s, line %d, column %d: %r is not a number" % (path, lineno, col, text.strip()))
                if not math.isfinite(v):
                    raise DataError("%s, line %d, column %d: %s is not allowed (values must be finite)"
                                    % (path, lineno, col, text.strip()))
                row.append(v)
            rows.append(row)
    if not rows:
        raise DataError("%s has no data rows" % path)
    return Table(path, header, rows)


def _numeric(fields):
    try:
        for x in fields:
            float(x)
        return True
    except ValueError:
        return False


def check_width(table, layers, n_outputs, what="layers"):
    n_in, n_out = layers[0], layers[-1]
    if n_out != n_outputs:
        raise DataError("--outputs %d, but the %s end with %d outputs (%s)"
                        % (n_outputs, what, n_out, "-".join(map(str, layers))))
    if table.width != n_in + n_out:
        raise DataError("%s has %d columns, but the %s %s need %d inputs + %d targets = %d"
                        % (table.path, table.width, what, "-".join(map(str, layers)), n_in, n_out, n_in + n_out))


def training_data(path, layers, n_outputs):
    """(X, Y) from a CSV whose last n_outputs columns are the targets of a network of these
    layer sizes (DataError naming the file when its columns do not fit)."""
    table = read_csv(path)
    check_width(table, layers, n_outputs)
    return table.split(n_outputs)


def pack(X, Y=None):
    """The data file for rows X (and targets Y, or none for prediction)."""
    n, n_in = len(X), len(X[0])
    n_out = len(Y[0]) if Y else 0
    xs = array.array("f", [v for row in X for v in row])
    ys = array.array("f", [v for row in Y for v in row]) if Y else array.array("f")
    if sys.byteorder != "little":
        xs.byteswap()
        ys.byteswap()
    return MAGIC + struct.pack("<IHH", n, n_in, n_out) + xs.tobytes() + ys.tobytes()


def as_float32(rows):
    """The rows as the board sees them (rounded to float32)."""
    return [list(array.array("f", r)) for r in rows]
