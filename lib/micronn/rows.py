"""The dense kernels of kernels.py (and load_row) written for CPython, which Network uses there.

kernels.py walks flat arrays one element at a time: the fastest code under viper (and on
firmware without it, which runs the same source as bytecode), but on CPython every read of an
array('f') makes a float object and every index is an operation.  These do the same arithmetic
in the same order on whole rows instead: a row's dot product is sum(map(mul, ...)), which adds
in C, over one iterator of the weights (no slice per row); a layer's weights are read once into
a list, updated there (CPython's fastest float arithmetic) while the backpropagated sums gather
(or, for many rows, are summed down its columns first), and rounded back into the array by one
struct.pack_into.  tests/test_rows.py checks that they give kernels.py's results bit for bit.
(From CPython 3.12 sum() compensates the rounding of its additions, which the kernels do not:
there a row's products are added in a loop, in order, and the sums gather row by row.)
"""
import struct
import sys
from operator import mul

_IN_ORDER = sys.version_info < (3, 12)      # sum() of floats adds them one by one, in order
_FEW = 6

if _IN_ORDER:
    def dense_forward(x, W, b, has_b, n_in, n_out, out):
        """out[j] = b[j] + sum_i x[i] * W[j*n_in + i]   (pre-activation)."""
        if len(x) != n_in:
            x = x[:n_in]
        w = iter(W)     # map(mul, x, w) stops at the end of x: each row takes the next n_in weights
        for j in range(n_out):
            out[j] = sum(map(mul, x, w), b[j] if has_b else 0.0)
else:
    def dense_forward(x, W, b, has_b, n_in, n_out, out):
        """out[j] = b[j] + sum_i x[i] * W[j*n_in + i]   (pre-activation)."""
        if len(x) != n_in:
            x = x[:n_in]
        m = W.tolist()      # (a list's items are read without making a float each)
        k = 0
        for j in range(n_out):
            s = b[j] if has_b else 0.0
            for v in x:
                s += v * m[k]
                k += 1
            out[j] = s


def dense_backward_sgd(x, W, b, has_b, n_in, n_out, delta, dprev, has_prev, lr):
    """One online SGD step fused with backpropagation (kernels.dense_backward_sgd)."""
    if len(x) != n_in:
        x = x[:n_in]
    m = W.tolist()
    few = n_out < _FEW              # a few biases are stepped in their array: cheaper than a list
    if has_b and not few:
        bl = b.tolist()
    fused = has_prev
    if has_prev:
        d = [0.0] * n_in
        if _IN_ORDER and n_out >= 16 and 0.0 not in delta[:n_out]:
            # many rows and none off: each backpropagated sum down a column of the weights
            # (before the step) is one sum() in C, in the kernel's order
            ds = delta[:n_out]
            d = [sum(map(mul, m[i::n_in], ds), 0.0) for i in range(n_in)]
            fused = 0
    k = 0
    for j in range(n_out):
        dj = delta[j]
        if dj == 0.0:               # (a unit that is off: nothing to do in this row)
            k += n_in
        else:
            g = lr * dj
            if has_b:
                if few:             # (an array's item is rounded to its type as pack_into does)
                    b[j] = b[j] - g
                else:
                    bl[j] = bl[j] - g
            if has_prev and fused:      # (has_prev first: a constant where fuse.py writes this out)
                i = 0
                for v in x:
                    w = m[k]
                    d[i] += w * dj
                    m[k] = w - g * v
                    k += 1
                    i += 1
            else:
                for v in x:
                    m[k] = m[k] - g * v
                    k += 1
    (_packers.get((W.typecode, len(m))) or _packer(W, len(m))).pack_into(W, 0, *m)
    if has_b and not few:
        (_packers.get((b.typecode, n_out)) or _packer(b, n_out)).pack_into(b, 0, *bl)
    if has_prev:
        if type(dprev) is list:
            dprev[:n_in] = d
        else:
            _put(dprev, d)


def dense_backward_acc(x, W, GW, Gb, has_b, n_in, n_out, delta, dprev, has_prev):
    """Backpropagation that adds this sample's gradient to GW/Gb (kernels.dense_backward_acc)."""
    if len(x) != n_in:
        x = x[:n_in]
    m = W.tolist() if has_prev else None
    G = GW.tolist()
    Gbl = Gb.tolist() if has_b else None
    d = [0.0] * n_in
    r = range(n_in)
    k = 0
    for j in range(n_out):
        dj = delta[j]
        if dj == 0.0:
            k += n_in
            continue
        if has_b:
            Gbl[j] = Gbl[j] + dj
        if has_prev:
            for i in r:
                d[i] += m[k] * dj
                G[k] = G[k] + dj * x[i]
                k += 1
        else:
            for v in x:
                G[k] = G[k] + dj * v
                k += 1
    _store(GW, G)
    if has_b:
        _store(Gb, Gbl)
    if has_prev:
        _put(dprev, d)


def load_row(src, off, dst, n):
    """dst[i] = src[off + i] (kernels.load_row): into an array, rounded to its type."""
    if n < 8:                   # a short row: the loop costs less than the calls below
        for i in range(n):
            dst[i] = src[off + i]
        return
    v = src if off == 0 and len(src) == n else src[off:off + n]
    if isinstance(dst, list):
        dst[:n] = v
    elif len(dst) == n:
        _store(dst, v)
    else:
        for i in range(n):
            dst[i] = v[i]


_packers = {}


def _packer(a, n):
    """A struct that writes n floats into array a, rounded to its type (struct's native formats
    convert as array's item assignment does): a list written back in one call."""
    p = _packers.get((a.typecode, n))
    if p is None:
        p = _packers[(a.typecode, n)] = struct.Struct("%d%s" % (n, a.typecode))
    return p


def _store(a, values):
    _packer(a, len(values)).pack_into(a, 0, *values)


def _put(dst, src):
    if type(dst) is list:
        dst[:len(src)] = src
    else:
        for i in range(len(src)):
            dst[i] = src[i]
