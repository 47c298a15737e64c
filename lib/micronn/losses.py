"""Loss functions: the value of one sample and the delta it sends back into the output layer.

sse  sum over samples and outputs of (y - t)^2            (the article's loss)
mse  mean over samples and outputs of (y - t)^2
bce  mean over samples and outputs of -[t ln y + (1 - t) ln(1 - y)]   (sigmoid output)
cce  mean over samples of -sum_k t_k ln y_k                  (softmax output)

For bce with sigmoid and cce with softmax the delta is the familiar, stable (y - t).
"""
from math import log

NAMES = ("sse", "mse", "bce", "cce")
_NEEDS = {"bce": "sigmoid", "cce": "softmax"}
_EPS = 1e-7     # keeps log() finite; 1 - 1e-7 is still below 1 in float32


def check(loss, output):
    if loss not in NAMES:
        raise ValueError("unknown loss %r; expected one of %s" % (loss, ", ".join(NAMES)))
    need = _NEEDS.get(loss)
    if need and output != need:
        raise ValueError("loss %r needs output=%r, but the output layer is %r" % (loss, need, output))
    return loss


def divisor(loss, n_out):
    """What one sample's loss term is divided by, besides the number of samples (sse: nothing)."""
    if loss == "sse":
        return 0
    return n_out if loss in ("mse", "bce") else 1


def mean(loss, total, n, n_out):
    """The loss of n samples from the sum of their loss terms (sse: the sum itself)."""
    d = divisor(loss, n_out)
    return total if d == 0 else total / (n * d)


def scale(loss, n_out, n_samples):
    d = divisor(loss, n_out)
    return 1.0 if d == 0 else 1.0 / (n_samples * d)


def output_delta(loss, y, T, off, n, delta, s):
    """Write s * dL/dy (or s * dL/dz where the pair is combined) into delta; return the sample's
    unscaled loss term.  y: the network's outputs, T[off:off+n]: the targets."""
    total = 0.0
    if loss == "bce":
        for k in range(n):
            v = y[k]
            t = T[off + k]
            p = min(max(v, _EPS), 1.0 - _EPS)
            total -= t * log(p) + (1.0 - t) * log(1.0 - p)
            delta[k] = (v - t) * s
    elif loss == "cce":
        for k in range(n):
            v = y[k]
            t = T[off + k]
            if t != 0.0:
                total -= t * log(max(v, _EPS))
            delta[k] = (v - t) * s
    else:
        for k in range(n):
            e = y[k] - T[off + k]
            total += e * e
            delta[k] = 2.0 * e * s
    return total


def combined(loss):
    """True when output_delta already includes the output activation's derivative."""
    return loss in _NEEDS
