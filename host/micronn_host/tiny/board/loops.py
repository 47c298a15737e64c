"""Network.fit with SGD, and predicting, for one model: the micro:bit program's module mnnf.

The same kernel calls in the same order as Network._forward, _backward and fit, so the
weights end the same, bit for bit.  A job is the tuple model.setup() returns.
"""
from micronn.data import zeros
from micronn.kernels import dense_backward_acc, dense_backward_sgd, dense_forward, fill, load_row
from micronn.losses import output_delta
from micronn.optim import _sgd

from model import L, setup
from spec import ACTS, BACKWARD, BIAS, COMBINED, DTYPE, FORWARD, LOSS, ONLINE, SHUFFLE, SIZES

INLINE = ("forward",)               # functions the board gets written out where they are called


def forward(W, B, O, x):
    """Network._forward on the inputs x: each layer's outputs into O."""
    for l in range(L):
        dense_forward(O[l - 1] if l else x, W[l], B[l], BIAS, SIZES[l], SIZES[l + 1], O[l])
        if ACTS[l] != "linear":         # lib/micronn's linear kernels do nothing
            FORWARD[l](O[l], SIZES[l + 1])


def fit(m, epochs, lr, bs, s1, s2):
    """epochs of Network.fit on job m in batches of bs rows, with the loss scaled by s1 for a
    whole batch and by s2 for a short last one.  Returns the last epoch's sum of loss terms."""
    W, B, GW, GB, O, D, X, Y, R, Q, x = m
    n = len(R)
    t = 0.0
    for e in range(epochs):
        if SHUFFLE:
            Q.shuffle(R)
        t = 0.0
        for a in range(0, n, bs):
            b = min(a + bs, n)
            if not ONLINE:
                for l in range(L):
                    fill(GW[l], len(GW[l]), 0.0)
                    if BIAS:
                        fill(GB[l], len(GB[l]), 0.0)
            s = s1 if b - a == bs else s2
            u = 0.0                     # this batch's loss terms, then into the epoch's as in fit()
            for p in range(a, b):
                i = R[p]
                load_row(X, i * SIZES[0], x, SIZES[0])
                forward(W, B, O, x)
                u += output_delta(LOSS, O[L - 1], Y, i * SIZES[L], SIZES[L], D[L - 1], s)
                if not COMBINED and ACTS[L - 1] != "linear":
                    BACKWARD[L - 1](D[L - 1], O[L - 1], SIZES[L])
                for l in range(L - 1, -1, -1):
                    if ONLINE:          # online SGD steps inside backpropagation
                        dense_backward_sgd(O[l - 1] if l else x, W[l], B[l], BIAS, SIZES[l], SIZES[l + 1], D[l],
                                           D[l - 1] if l else None, 1 if l else 0, lr)
                    else:
                        dense_backward_acc(O[l - 1] if l else x, W[l], GW[l], GB[l], BIAS, SIZES[l], SIZES[l + 1],
                                           D[l], D[l - 1] if l else None, 1 if l else 0)
                    if l and ACTS[l - 1] != "linear":
                        BACKWARD[l - 1](D[l - 1], O[l - 1], SIZES[l])
            t += u
            if not ONLINE:              # the optimizer's step: Optimizer.step for "sgd"
                for l in range(L):
                    _sgd(W[l], GW[l], SIZES[l] * SIZES[l + 1], lr)
                    if BIAS:
                        _sgd(B[l], GB[l], SIZES[l + 1], lr)
    return t


def predict(p, need, dp, n):
    """The outputs of the model in file p for the n rows of inputs in data file dp, a line per
    row: the bytes of an array of the model's dtype (with no rows, dp None: only a check that
    the model loads)."""
    W, B, GW, GB, O, D, X, Y, R, Q, x = setup(p, need, 0, dp, n, 0, 0)
    y = zeros(DTYPE, SIZES[L])
    for i in R:
        load_row(X, i * SIZES[0], x, SIZES[0])
        forward(W, B, O, x)
        load_row(O[L - 1], 0, y, SIZES[L])
        print(bytes(y))
