"""Checking training data where it is, and flat arrays of it.

A board cannot afford a list of lists of boxed floats for a data set (each float is a heap
object): it reads its data into flat arrays, which fit() and the others use as they are
(check_rows); pack() makes such an array from rows, e.g. on a computer, to send to a board.
"""
import array

from .sizes import ITEMSIZE

INF = float("inf")


def zeros(typecode, n):
    """A zeroed array without building a list first (MicroPython has no array * n).

    array(typecode, bytearray(size)) would hold the bytearray and its copy at the same time,
    twice a layer's weights in one moment, which is what stops a large layer in a small heap.
    An initializer with a length (a range) makes MicroPython allocate the array once, at its
    final size; it is then zeroed in place.
    """
    if n < 256:
        return array.array(typecode, bytearray(ITEMSIZE[typecode] * n))
    from .kernels import fill
    a = array.array(typecode, range(n))
    fill(a, n, 0.0)
    return a


def length(v):
    """len(v) for a sequence (not a string), else -1.

    MicroPython's built-in types have no __len__ attribute to test for, so ask len() itself.
    """
    if isinstance(v, (str, bytes)):
        return -1
    try:
        return len(v)
    except TypeError:
        return -1


def number(v):
    """float(v) for a finite number, else ValueError saying why (the caller adds where)."""
    if isinstance(v, (str, bytes)):
        raise ValueError("%r is not a number" % (v,))
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError("%r is not a number" % (v,))
    except OverflowError:           # a whole number past a float's range (CPython; MicroPython: inf)
        raise ValueError("a number of %d digits is too large: values must be finite" % len(str(v)))
    if f - f != 0.0:                # true for nan and +-inf only
        raise ValueError("%s is not allowed: values must be finite" % f)
    return f


def bad_sample(x, n, at, scaled=False):
    """Raise the ValueError that says what is wrong with the sample x for a model of n inputs
    whose integer kernel refused it: its length, a value that is not a number, or else its value
    at index at - 1, which does not fit a float32 (once scaled, when the model scales its inputs)."""
    if length(x) != n:
        raise ValueError("sample has %s values, expected %d (the network has %d inputs)"
                         % (length(x) if length(x) >= 0 else repr(x), n, n))
    for i in range(n):
        try:
            number(x[i])
        except ValueError as e:
            raise ValueError("input %d: %s" % (i, e))
    raise ValueError("input %d: %r does not fit a float32%s" % (at - 1, x[at - 1], " once scaled" if scaled else ""))


def whole_number(v, name, least):
    """v if it is an int >= least (not a bool), else ValueError naming the parameter."""
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise ValueError("%s must be a whole number >= %d, got %r" % (name, least, v))
    return v


def float_typecode(a):
    """"f" or "d" for an array of floats, else None (MicroPython's arrays have no .typecode)."""
    tc = getattr(a, "typecode", None)
    if tc is None and len(a) and type(a[0]) is float:
        tc = {4: "f", 8: "d"}.get(len(bytes(memoryview(a)[:1])))
    return tc if tc in ITEMSIZE else None


def copy_row(src, off, n, dst, k, name, r=None):
    """dst[k + c] = src[off + c] for c < n, each checked to be a finite number (dst None: only
    check).  Errors name the place: "<name> row <r>, column <c>", or "<name> <c>" without r.

    The test `type(v) is float and -INF < v < INF` passes every good float (not nan) without a
    call or an allocation; only other values go through number().
    """
    for c in range(n):
        v = src[off + c]
        if type(v) is not float or not -INF < v < INF:
            try:
                v = number(v)
            except ValueError as e:
                where = "%s %d" % (name, c) if r is None else "%s row %d, column %d" % (name, r, c)
                raise ValueError("%s: %s" % (where, e))
        if dst is not None:
            dst[k + c] = v


def check_rows(rows, width, name, what="width"):
    """Check a data set where it is, without copying it; return (number of rows, flat).

    rows: a list of rows of `width` numbers; a flat array.array of whole rows; (width 1 only) a
    flat list of numbers; or the rows of a data file (datafile.Rows, its values checked once).
    flat is True for a flat array or list: row r is rows[r*width:(r+1)*width], else rows[r].
    name ("X", "Y") and what (e.g. "the network has 3 inputs") go into error messages.  A board
    cannot afford a second copy of its data, and a heap with plenty free may still have no free
    block that large, so nothing here allocates per row.
    """
    if isinstance(rows, array.array):
        n = len(rows)
        if n == 0 or n % width:
            raise ValueError("%s is a flat array of %d values, not a whole number of rows of %d (%s)"
                             % (name, n, width, what))
        for r in range(n // width):
            copy_row(rows, r * width, width, None, 0, name, r)
        return n // width, True
    if getattr(rows, "streamed", False):        # rows of a data file (datafile.Rows), read as asked for
        return rows.check(width, name, what), False
    n = length(rows)
    if n < 0:
        raise ValueError("%s must be a list of rows, not %s" % (name, type(rows).__name__))
    if n == 0:
        raise ValueError("%s is empty: need at least one sample" % name)
    first = rows[0]
    if width == 1 and length(first) < 0 and not isinstance(first, (str, bytes)):
        for r in range(n):                      # Y = [0, 1, 1, 0] for a network with one output
            copy_row(rows, r, 1, None, 0, name, r)
        return n, True
    for r in range(n):
        row = rows[r]
        m = length(row)
        if m < 0:
            raise ValueError("%s row %d is %r, expected a row of %d numbers (%s)" % (name, r, row, width, what))
        if m != width:
            raise ValueError("%s row %d has %d values, expected %d (%s)" % (name, r, m, width, what))
        copy_row(row, 0, width, None, 0, name, r)
    return n, False


def pack(rows, width, typecode, name, what="width"):
    """Copy rows of `width` numbers into one flat array; return (array, number of rows).

    rows: a list of rows, a flat array.array of whole rows (used without a copy when its typecode
    is already `typecode`; it is only read), or (width 1 only) a flat list of numbers.
    name ("X", "Y") and what (e.g. "the network has 3 inputs") go into error messages.
    """
    if isinstance(rows, array.array):
        n = len(rows)
        if n == 0 or n % width:
            raise ValueError("%s is a flat array of %d values, not a whole number of rows of %d (%s)"
                             % (name, n, width, what))
        same = float_typecode(rows) == typecode     # then used as it is: no copy on a board
        out = rows if same else zeros(typecode, n)
        for r in range(n // width):
            copy_row(rows, r * width, width, None if same else out, r * width, name, r)
        return out, n // width
    n = length(rows)
    if n < 0:
        raise ValueError("%s must be a list of rows, not %s" % (name, type(rows).__name__))
    if n == 0:
        raise ValueError("%s is empty: need at least one sample" % name)
    out = zeros(typecode, n * width)
    for r in range(n):
        row = rows[r]
        m = length(row)
        if m < 0 and width == 1 and not isinstance(row, (str, bytes)):
            row, m = (row,), 1      # Y = [0, 1, 1, 0] for a network with one output
        if m < 0:
            raise ValueError("%s row %d is %r, expected a row of %d numbers (%s)" % (name, r, row, width, what))
        if m != width:
            raise ValueError("%s row %d has %d values, expected %d (%s)" % (name, r, m, width, what))
        copy_row(row, 0, width, out, r * width, name, r)
    return out, n


class Order:
    """The numbers 0..n-1 in an order Random.shuffle() permutes, kept in arrays of 128 (256
    bytes each) rather than one list: a fragmented heap with plenty free but no large free
    block still has room for them."""

    def __init__(self, n):
        tc = "H" if n <= 0x10000 else "i"
        self.n = n
        self.chunks = [array.array(tc, range(c, min(c + 128, n))) for c in range(0, n, 128)]

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.chunks[i >> 7][i & 127]

    def __setitem__(self, i, v):
        self.chunks[i >> 7][i & 127] = v

    def __iter__(self):
        for c in self.chunks:
            for i in c:
                yield i
