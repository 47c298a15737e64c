"""Exploration: online SGD in fixed point under viper, against micronn's float training.

Weights, activations and deltas are Q16.16 integers in array('i'); the O(n^2) loops (forward
dot products, backpropagated deltas, weight updates) are integer viper code with no float
object; only the O(n) sigmoid of each unit goes through float.  Subscripting an array('i') gives
small ints, which are not heap objects, so this is sign-correct on every port; the products are
Q32 and need 64-bit machine words: this runs as is only on a 64-bit port (the x64 unix port
here) - a 32-bit board would need the products split like exact.py does.

    micropython bench/fixed_train.py        (or python3, through the _upy shim: slow)

Prints, for the article's 3-4-1 network and for 16-32-32-4, the final loss of the same training
in float32 (micronn) and in Q16.16, and the time per sample of each.
"""
import json
import sys
import time
from math import exp

try:
    import micropython
except ImportError:
    sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/lib")
    from micronn import _upy as micropython

import array

import micronn

ONE = 65536


@micropython.viper
def fwd(x, W, n_in: int, n_out: int, out):
    k = 0
    for j in range(n_out):
        acc = 0
        for i in range(n_in):
            acc += int(W[k]) * int(x[i])
            k += 1
        out[j] = acc >> 16


@micropython.viper
def back(x, W, n_in: int, n_out: int, delta, dprev, has_prev: int, lr: int):
    if has_prev:
        for i in range(n_in):
            dprev[i] = 0
    k = 0
    for j in range(n_out):
        d = int(delta[j])
        g = (lr * d) >> 16
        for i in range(n_in):
            w = int(W[k])
            if has_prev:
                dprev[i] = int(dprev[i]) + ((w * d) >> 16)
            W[k] = w - ((g * int(x[i])) >> 16)
            k += 1


def sigmoid_q(buf, n):
    for j in range(n):
        z = buf[j] / ONE
        y = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
        buf[j] = int(y * ONE + 0.5)


class FixedNet:
    """A bias-free sigmoid MLP in Q16.16, started from a float micronn network's weights."""

    def __init__(self, net):
        self.sizes = net.sizes
        self.W = [array.array("i", [int(round(L.W[k] * ONE)) for k in range(len(L.W))]) for L in net.layers]
        self.outs = [array.array("i", [0] * n) for n in net.sizes]
        self.deltas = [array.array("i", [0] * n) for n in net.sizes]

    def train(self, x, t, lr):
        """One online step on the sum-of-squares loss; returns the sample's loss (float)."""
        outs, sizes = self.outs, self.sizes
        for i in range(sizes[0]):
            outs[0][i] = int(round(x[i] * ONE))
        for l, W in enumerate(self.W):
            fwd(outs[l], W, sizes[l], sizes[l + 1], outs[l + 1])
            sigmoid_q(outs[l + 1], sizes[l + 1])
        top, d = outs[-1], self.deltas[-1]
        loss = 0.0
        for k in range(sizes[-1]):
            y = top[k]
            e = y - int(round(t[k] * ONE))
            loss += (e / ONE) ** 2
            d[k] = (((2 * e * y) >> 16) * (ONE - y)) >> 16      # dL/dz = 2 e y (1 - y)
        for l in range(len(self.W) - 1, -1, -1):
            prev = self.deltas[l]
            back(outs[l], self.W[l], sizes[l], sizes[l + 1], self.deltas[l + 1], prev, 1 if l else 0,
                 int(lr * ONE))
            if l:
                o = outs[l]
                for i in range(sizes[l]):
                    y = o[i]
                    prev[i] = (((prev[i] * y) >> 16) * (ONE - y)) >> 16
        return loss


def _clock():
    return time.ticks_us() if hasattr(time, "ticks_us") else int(time.perf_counter() * 1e6)


def compare(sizes, X, Y, epochs, lr, init):
    net = micronn.Network(sizes, activation="sigmoid", output="sigmoid", bias=False, init=init, seed=1)
    fixed = FixedNet(net)
    t0 = _clock()
    float_loss = net.fit(X, Y, epochs=epochs, lr=lr, loss="sse", batch_size=1, shuffle=False)
    t_float = (_clock() - t0) / (epochs * len(X))
    t0 = _clock()
    for _ in range(epochs):
        fixed_loss = 0.0
        for x, y in zip(X, Y):
            fixed_loss += fixed.train(x, y, lr)
    t_fixed = (_clock() - t0) / (epochs * len(X))
    return {"net": "-".join(str(s) for s in sizes), "epochs": epochs, "lr": lr,
            "float_loss": float_loss, "fixed_loss": fixed_loss,
            "float_us": t_float, "fixed_us": t_fixed}


def main():
    X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    Y = [[0], [1], [1], [0]]
    print(json.dumps(compare([3, 4, 1], X, Y, 1500, 1.0, "uniform")))
    s = 12345
    X, Y = [], []
    for n in range(8):
        row = []
        for _ in range(16):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            row.append((s >> 8) / 8388608.0)
        X.append(row)
        Y.append([1.0 if k == n % 4 else 0.0 for k in range(4)])
    print(json.dumps(compare([16, 32, 32, 4], X, Y, 300, 0.5, "xavier")))


if __name__ == "__main__":
    main()
