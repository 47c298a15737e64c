"""The three dense kernels of kernels.py written for CPython, which Network uses there.

kernels.py walks flat arrays one element at a time: the fastest code under viper (and on
firmware without it, which runs the same source as bytecode), but on CPython every read of an
array('f') makes a float object and every index is an operation.  These do the same arithmetic
in the same order on whole rows instead: a row's dot product is sum(map(mul, ...)), which adds
in C; a row of weights is read once into a list, updated there (CPython's fastest float
arithmetic) while the backpropagated sums gather, and rounded back into the array at once.
tests/test_rows.py checks that they give kernels.py's results bit for bit.  (From CPython 3.12
sum() compensates the rounding of its additions, which the kernels do not: there a row's
products are added in a loop, in order.)
"""
import array
import sys
from operator import mul

if sys.version_info < (3, 12):
    def dense_forward(x, W, b, has_b, n_in, n_out, out):
        """out[j] = b[j] + sum_i x[i] * W[j*n_in + i]   (pre-activation)."""
        k = 0
        for j in range(n_out):
            e = k + n_in
            out[j] = sum(map(mul, x, W[k:e]), b[j] if has_b else 0.0)
            k = e
else:
    def dense_forward(x, W, b, has_b, n_in, n_out, out):
        """out[j] = b[j] + sum_i x[i] * W[j*n_in + i]   (pre-activation)."""
        k = 0
        for j in range(n_out):
            e = k + n_in
            s = b[j] if has_b else 0.0
            for p in map(mul, x, W[k:e]):
                s += p
            out[j] = s
            k = e


def dense_backward_sgd(x, W, b, has_b, n_in, n_out, delta, dprev, has_prev, lr):
    """One online SGD step fused with backpropagation (kernels.dense_backward_sgd)."""
    d = [0.0] * n_in
    tc = W.typecode
    r = range(n_in)
    k = 0
    for j in range(n_out):
        e = k + n_in
        dj = delta[j]
        if dj != 0.0:               # (a unit that is off: nothing to do in this row)
            g = lr * dj
            if has_b:
                b[j] = b[j] - g
            row = W[k:e].tolist()
            if has_prev:
                for i in r:
                    w = row[i]
                    d[i] += w * dj
                    row[i] = w - g * x[i]
            else:
                for i in r:
                    row[i] = row[i] - g * x[i]
            W[k:e] = array.array(tc, row)
        k = e
    if has_prev:
        _put(dprev, d)


def dense_backward_acc(x, W, GW, Gb, has_b, n_in, n_out, delta, dprev, has_prev):
    """Backpropagation that adds this sample's gradient to GW/Gb (kernels.dense_backward_acc)."""
    d = [0.0] * n_in
    tc = GW.typecode
    r = range(n_in)
    k = 0
    for j in range(n_out):
        e = k + n_in
        dj = delta[j]
        if dj != 0.0:
            if has_b:
                Gb[j] = Gb[j] + dj
            if has_prev:
                row = W[k:e].tolist()
                for i in r:
                    d[i] += row[i] * dj
            grad = GW[k:e].tolist()
            for i in r:
                grad[i] = grad[i] + dj * x[i]
            GW[k:e] = array.array(tc, grad)
        k = e
    if has_prev:
        _put(dprev, d)


def _put(dst, src):
    if isinstance(dst, list):
        dst[:len(src)] = src
    else:
        for i in range(len(src)):
            dst[i] = src[i]
