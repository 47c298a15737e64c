"""CSV files in (numbers, and class labels as text), the compact binary data file the board
reads with readinto out.

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
    """A CSV file as read: header (a list of names, or None), rows of numbers or text (cells
    that are numbers are floats, the others stripped strings), lines (each row's line number)."""

    def __init__(self, path, header, rows, lines=None):
        self.path, self.header, self.rows = path, header, rows
        self.lines = lines or list(range(1, len(rows) + 1))

    @property
    def width(self):
        return len(self.rows[0])

    def name(self, col):
        """How errors name column col (0-based): its header name, else its number from 1."""
        if self.header:
            return "column %d (%s)" % (col + 1, self.header[col])
        return "column %d" % (col + 1)

    def numbers(self, cols, what="input"):
        """The rows' values in these columns, as lists of floats; DataError naming the line and
        column of the first cell that is not a number."""
        out = []
        for r, row in enumerate(self.rows):
            vals = []
            for c in cols:
                v = row[c]
                if isinstance(v, str):
                    raise DataError("%s, line %d, column %d: %r is not a number%s"
                                    % (self.path, self.lines[r], c + 1, v,
                                       " (%s is an %s column; text is allowed only in a class column, the target)"
                                       % (self.header[c], what) if self.header else ""))
                vals.append(v)
            out.append(vals)
        return out

    def split(self, n_outputs):
        """(X, Y): the last n_outputs columns are the targets."""
        if not 1 <= n_outputs < self.width:
            raise DataError("%s has %d columns; --outputs %d leaves no %s"
                            % (self.path, self.width, n_outputs, "inputs" if n_outputs >= self.width else "targets"))
        k = self.width - n_outputs
        return self.numbers(range(k)), self.numbers(range(k, self.width), "target")

    def column(self, spec, option):
        """The 0-based index of a column given by name or by 0-based number."""
        spec = spec.strip()
        if self.header and spec in self.header:
            return self.header.index(spec)
        try:
            i = int(spec)
        except ValueError:
            raise DataError("%s: %s %s: no such column (%s)"
                            % (self.path, option, spec, "the columns are " + ", ".join(self.header) if self.header
                               else "the file has no header line, so give column numbers from 0"))
        if not 0 <= i < self.width:
            raise DataError("%s: %s %d: no such column; the file has %d (numbered from 0)"
                            % (self.path, option, i, self.width))
        return i

    def columns(self, specs, option):
        """Column indexes from an option given once or more, each a comma-separated list."""
        out = []
        for spec in specs or ():
            for part in spec.split(","):
                if part.strip():
                    c = self.column(part, option)
                    if c not in out:
                        out.append(c)
        return out


def read_table(path):
    """Read a CSV file: numbers, and text where the file has text (a class label).  The first
    line is a header when it has text in a column where the next line has a number (or when it
    is all text).  Errors name the file and line."""
    try:
        f = open(path, newline="")
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror or e))
    raw, lines = [], []
    with f:
        for lineno, fields in enumerate(csv.reader(f), 1):
            if not fields or all(not x.strip() for x in fields):
                continue
            raw.append([x.strip() for x in fields])
            lines.append(lineno)
    header = None
    if raw:
        first = [_number(x) for x in raw[0]]
        after = [_number(x) for x in raw[1]] if len(raw) > 1 else None
        if all(v is None for v in first) or (after and any(
                v is None and c < len(after) and after[c] is not None for c, v in enumerate(first))):
            header = raw.pop(0)
            lines.pop(0)
    if not raw:
        raise DataError("%s has no data rows" % path)
    width = len(header) if header else len(raw[0])
    rows = []
    for r, fields in enumerate(raw):
        if len(fields) != width:
            raise DataError("%s, line %d: %d columns, expected %d like the %s"
                            % (path, lines[r], len(fields), width, "header" if header and not rows else "lines above"))
        row = []
        for col, text in enumerate(fields):
            v = _number(text)
            if v is None:
                if text.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
                    raise DataError("%s, line %d, column %d: %s is not allowed (values must be finite)"
                                    % (path, lines[r], col + 1, text))
                row.append(text)
            else:
                row.append(v)
        rows.append(row)
    return Table(path, header, rows, lines)


def read_csv(path):
    """Read a numeric CSV (an optional header line); errors name the file, line and column."""
    table = read_table(path)
    table.numbers(range(table.width))
    return table


def _number(text):
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


class Data:
    """Rows chosen from a table for a model: X (inputs), Y (targets: numbers, or one-hot rows of
    a classifier), inputs and targets (column names, or None without a header), classes (a
    classifier's names, else None), labels (a classifier's class index per row)."""

    def __init__(self, table, X, Y, inputs, targets, classes=None, labels=None):
        self.table, self.X, self.Y = table, X, Y
        self.inputs, self.targets, self.classes, self.labels = inputs, targets, classes, labels

    @property
    def path(self):
        return self.table.path

    def meta(self):
        """What a model trained on this data carries: {classes, inputs, targets} (those known)."""
        d = {}
        for k in ("classes", "inputs", "targets"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d


def select(table, target=None, inputs=None, ignore=None, classes=False, outputs=1, model=None,
           need_targets=True):
    """Data from a table: which columns are inputs and targets, and whether it is a classifier.

    target, inputs, ignore: the options as given (lists of names or numbers, each maybe
    comma-separated).  Without --target the model's stored target names pick them (when the
    file has a header with them), else the last `outputs` columns (the last one for a
    classifier's labels).  Without --inputs: the model's stored input names, else every other
    column that is not ignored.  A target with text (or classes=True, or a model with class
    names) makes a classifier: one target column of labels.  model: a model (its meta decides
    what it can, and the widths are checked against it).  need_targets=False: the file may
    have inputs only (predict), and then Y is None.
    """
    names = table.header
    ign = table.columns(ignore, "--ignore")
    tgt = table.columns(target, "--target")
    if not tgt and model is not None and model.targets and names and all(t in names for t in model.targets):
        tgt = [names.index(t) for t in model.targets]
    inp = table.columns(inputs, "--inputs")
    if not inp and model is not None and model.inputs and names and all(i in names for i in model.inputs):
        inp = [names.index(i) for i in model.inputs]
        left = [c for c in inp if c in ign]
        if left:
            raise DataError("%s: --ignore %s, but the model takes %s as an input"
                            % (table.path, names[left[0]], names[left[0]]))
    is_cls = bool(classes) or bool(model is not None and model.classes)
    if not tgt:
        if inp:
            rest = [c for c in range(table.width) if c not in inp and c not in ign]
            k = 1 if is_cls or _texts(table, rest[-1:]) else outputs
            tgt = rest[len(rest) - k:] if rest else []
        elif model is not None:
            n_in = model.sizes[0]
            free = [c for c in range(table.width) if c not in ign]
            tgt = free[n_in:]
        else:
            free = [c for c in range(table.width) if c not in ign]
            k = 1 if is_cls or _texts(table, free[-1:]) else outputs
            if not 1 <= k < len(free):
                raise DataError("%s has %d columns; --outputs %d leaves no %s"
                                % (table.path, len(free), k, "inputs" if k >= len(free) else "targets"))
            tgt = free[len(free) - k:]
    for c in tgt:
        if c in ign:
            raise DataError("%s: %s is both a target and ignored" % (table.path, table.name(c)))
    if not inp:
        inp = [c for c in range(table.width) if c not in tgt and c not in ign]
    both = [c for c in inp if c in tgt]
    if both:
        raise DataError("%s: %s is both an input and a target" % (table.path, table.name(both[0])))
    if not inp:
        raise DataError("%s: no input columns are left" % table.path)
    if model is not None and len(inp) != model.sizes[0]:
        raise DataError("%s: %d input columns (%s), but the model has %d inputs%s"
                        % (table.path, len(inp), ", ".join(_names(table, inp)), model.sizes[0],
                           " (%s)" % ", ".join(model.inputs) if model.inputs else ""))
    X = table.numbers(inp)
    in_names = _names(table, inp) if names else None
    if model is not None and model.inputs and in_names and in_names != list(model.inputs):
        raise DataError("%s: the input columns are %s, but the model was trained on %s"
                        % (table.path, ", ".join(in_names), ", ".join(model.inputs)))
    if not tgt:
        if need_targets:
            raise DataError("%s has no target column for the model (it has %d columns, the model %d inputs)"
                            % (table.path, table.width, model.sizes[0] if model is not None else 0))
        return Data(table, X, None, in_names, None)
    tgt_names = _names(table, tgt) if names else None
    is_cls = is_cls or _texts(table, tgt)
    if is_cls:
        if len(tgt) != 1:
            raise DataError("%s: a classifier has one target column of class labels, not %d (%s)"
                            % (table.path, len(tgt), ", ".join(_names(table, tgt))))
        from micronn.classes import encode
        labels = [row[tgt[0]] for row in table.rows]
        labels = [_label(v) for v in labels]
        known = list(model.classes) if model is not None and model.classes else None
        try:
            cls, Y = encode(labels, known)
        except ValueError as e:     # "row R: class 'x' is not one of ..."
            r = int(str(e).split(":")[0].split()[1])
            raise DataError("%s, line %d, %s: %s" % (table.path, table.lines[r], table.name(tgt[0]),
                                                     str(e).split(": ", 1)[1]))
        idx = [row.index(1.0) for row in Y]
        if model is not None and model.sizes[-1] != (1 if len(cls) == 2 and model.sizes[-1] == 1 else len(cls)):
            raise DataError("%s: %d classes, but the model has %d outputs" % (table.path, len(cls), model.sizes[-1]))
        if model is not None and model.sizes[-1] == 1:
            Y = [[float(i)] for i in idx]
        return Data(table, X, Y, in_names, tgt_names, cls, idx)
    Y = table.numbers(tgt, "target")
    if model is not None and len(tgt) != model.sizes[-1]:
        raise DataError("%s: %d target columns, but the model has %d outputs"
                        % (table.path, len(tgt), model.sizes[-1]))
    return Data(table, X, Y, in_names, tgt_names)


def _names(table, cols):
    return [table.header[c] if table.header else str(c) for c in cols]


def _texts(table, cols):
    """Whether any of these columns holds text."""
    return any(isinstance(row[c], str) for row in table.rows for c in cols)


def _label(v):
    """A class label from a cell: text as it is, a whole number without ".0"."""
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


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
