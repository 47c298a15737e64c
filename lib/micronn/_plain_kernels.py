"""The float hot loops of training and inference, compiled by viper on MicroPython.

Layout: a layer's weights are one flat array with one row per output unit, so W[j * n_in + i]
joins input i to output j and each dot product walks memory in order.  Activations and deltas
are short lists of floats: reading a list does not allocate, while every read of an array('f')
boxes a new float.  Loop counters are viper machine integers, so the only allocations left are
the float results themselves.  On CPython the decorators do nothing and this file is the plain
reference implementation.

Arguments named has_* are 0/1 ints (viper needs an int, not None checks, in the loops).

What the host copies out of lib/micronn
---------------------------------------
A micro:bit cannot hold lib/micronn, so the host copies functions out of its source with
`ast` (micronn_host.libsource) into the program it makes for each model: the functions of
this module, the activations' kernels, losses.output_delta, optim's step functions,
data.zeros, rng.Random, and store's crc32, replace, write and read_weights.  The copies are
this source with decorators, annotations and docstrings dropped and every name shortened, so
those functions, and what they use, keep to these rules:

- calls pass arguments by position, never by keyword (the names are shortened);
- a top-level name means one thing across kernels, losses, optim, store, data, rng,
  activations and sizes: the copies share one module;
- other lib modules are used as `from . import kernels` and `kernels.f`, or as
  `from .kernels import f` (at the top, or inside a function);
- module-level state is constants and `try: from m import f` / `except ImportError`;
- a branch the copy may drop tests an argument or a module constant the host names (a loss
  name, store.BIG_ENDIAN) against constants with ==, !=, in or not in, or the name itself:
  any other test is copied as it is;
- the code is plain Python under the decorators (no viper casts), since the copies run
  without them.

tests/test_microbit_program.py extracts every one of them and runs the copy against the
original.
"""
from math import exp, tanh

try:
    import micropython
except ImportError:
    from . import _upy as micropython


def _plain():
    pass



def _compiled():
    pass


# True where viper really compiled this module: not on CPython, and not on firmware without a
# native emitter, where deploy strips the decorators (viper functions have their own type).
VIPER = type(_compiled) is not type(_plain)



def dense_forward(x, W, b, has_b: int, n_in: int, n_out: int, out):
    """out[j] = b[j] + sum_i x[i] * W[j*n_in + i]   (pre-activation)."""
    k = 0
    for j in range(n_out):
        s = 0.0
        if has_b:
            s = b[j]
        for i in range(n_in):
            s += x[i] * W[k]
            k += 1
        out[j] = s



def dense_backward_sgd(x, W, b, has_b: int, n_in: int, n_out: int, delta, dprev, has_prev: int, lr):
    """One online SGD step fused with backpropagation.

    dprev[i] = sum_j W[j, i] * delta[j] with the weights before the step, then
    W[j, i] -= lr * delta[j] * x[i] and b[j] -= lr * delta[j].
    """
    if has_prev:
        for i in range(n_in):
            dprev[i] = 0.0
    k = 0
    for j in range(n_out):
        dj = delta[j]
        if dj == 0.0:               # e.g. a ReLU unit that is off: nothing to do in this row
            k += n_in
            continue
        g = lr * dj
        if has_b:
            b[j] = b[j] - g
        if has_prev:
            for i in range(n_in):
                w = W[k]
                dprev[i] += w * dj
                W[k] = w - g * x[i]
                k += 1
        else:
            for i in range(n_in):
                W[k] = W[k] - g * x[i]
                k += 1



def dense_backward_acc(x, W, GW, Gb, has_b: int, n_in: int, n_out: int, delta, dprev, has_prev: int):
    """Backpropagation that adds this sample's gradient to GW/Gb instead of stepping."""
    if has_prev:
        for i in range(n_in):
            dprev[i] = 0.0
    k = 0
    for j in range(n_out):
        dj = delta[j]
        if dj == 0.0:
            k += n_in
            continue
        if has_b:
            Gb[j] = Gb[j] + dj
        if has_prev:
            for i in range(n_in):
                dprev[i] += W[k] * dj
                GW[k] = GW[k] + dj * x[i]
                k += 1
        else:
            for i in range(n_in):
                GW[k] = GW[k] + dj * x[i]
                k += 1



def load_row(src, off: int, dst, n: int):
    """dst[i] = src[off + i]: one sample out of a flat data array."""
    for i in range(n):
        dst[i] = src[off + i]



def fill(buf, n: int, value):
    for i in range(n):
        buf[i] = value


# Activations work in place on a layer's outputs; the backward functions multiply a delta by
# the derivative, which (as in the article) is written in terms of the activated value y.

def linear(buf, n):
    pass


def linear_backward(d, y, n):
    pass



def sigmoid(buf, n: int):
    e = exp
    for i in range(n):
        v = buf[i]
        if v >= 0.0:                # never exp() of a large positive number
            buf[i] = 1.0 / (1.0 + e(-v))
        else:
            z = e(v)
            buf[i] = z / (1.0 + z)



def sigmoid_backward(d, y, n: int):
    for i in range(n):
        v = y[i]
        d[i] = d[i] * (v * (1.0 - v))



def tanh_(buf, n: int):
    t = tanh
    for i in range(n):
        buf[i] = t(buf[i])



def tanh_backward(d, y, n: int):
    for i in range(n):
        v = y[i]
        d[i] = d[i] * (1.0 - v * v)



def relu(buf, n: int):
    for i in range(n):
        if buf[i] < 0.0:
            buf[i] = 0.0



def relu_backward(d, y, n: int):
    for i in range(n):
        if not y[i] > 0.0:
            d[i] = 0.0


LEAK = 0.01



def leaky_relu(buf, n: int):
    a = LEAK
    for i in range(n):
        v = buf[i]
        if v < 0.0:
            buf[i] = a * v



def leaky_relu_backward(d, y, n: int):
    a = LEAK
    for i in range(n):
        if not y[i] > 0.0:
            d[i] = a * d[i]



def softmax(buf, n: int):
    e = exp
    m = buf[0]
    for i in range(1, n):
        if buf[i] > m:
            m = buf[i]
    s = 0.0
    for i in range(n):
        z = e(buf[i] - m)           # <= 1: cannot overflow
        buf[i] = z
        s += z
    for i in range(n):
        buf[i] = buf[i] / s



def softmax_backward(d, y, n: int):
    """d <- J^T d with the softmax Jacobian J = diag(y) - y y^T."""
    s = 0.0
    for i in range(n):
        s += d[i] * y[i]
    for i in range(n):
        d[i] = y[i] * (d[i] - s)

# Generated from kernels.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.kernels on firmware without a native emitter.  Do not edit.
