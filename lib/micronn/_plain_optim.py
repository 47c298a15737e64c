"""Optimizers that step flat parameter arrays with gradients accumulated over a batch."""
from math import sqrt

try:
    import micropython
except ImportError:
    from . import _upy as micropython



def _sgd(P, G, n: int, lr):
    for k in range(n):
        P[k] = P[k] - lr * G[k]



def _momentum(P, G, V, n: int, lr, mu):
    for k in range(n):
        v = mu * V[k] - lr * G[k]
        V[k] = v
        P[k] = P[k] + v



def _adam(P, G, M, V, n: int, lr, b1, b2, eps):
    r = sqrt
    c1 = 1.0 - b1
    c2 = 1.0 - b2
    for k in range(n):
        g = G[k]
        m = b1 * M[k] + c1 * g
        v = b2 * V[k] + c2 * g * g
        M[k] = m
        V[k] = v
        P[k] = P[k] - lr * m / (r(v) + eps)


class Optimizer:
    """Holds the per-parameter state of one optimizer ("sgd", "momentum" or "adam", already
    checked by the caller) over a list of (param, grad) arrays.

    new_buffer(n) makes a zeroed array like the parameters (it decides the typecode).
    """

    def __init__(self, name, pairs, new_buffer, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
        self.name = name
        self.pairs = pairs
        self.mu = momentum
        self.b1, self.b2, self.eps = beta1, beta2, eps
        self.t = 0
        self.state = []
        for P, _ in pairs:
            if name == "momentum":
                self.state.append((new_buffer(len(P)),))
            elif name == "adam":
                self.state.append((new_buffer(len(P)), new_buffer(len(P))))

    def buffers(self):
        """The extra arrays this optimizer keeps (for memory reports)."""
        return [buf for st in self.state for buf in st]

    def step(self, lr):
        name = self.name
        if name == "sgd":
            for P, G in self.pairs:
                _sgd(P, G, len(P), lr)
        elif name == "momentum":
            for (P, G), (V,) in zip(self.pairs, self.state):
                _momentum(P, G, V, len(P), lr, self.mu)
        else:
            self.t += 1
            t = self.t
            lr_t = lr * sqrt(1.0 - self.b2 ** t) / (1.0 - self.b1 ** t)
            for (P, G), (M, V) in zip(self.pairs, self.state):
                _adam(P, G, M, V, len(P), lr_t, self.b1, self.b2, self.eps)

# Generated from optim.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.optim on firmware without a native emitter.  Do not edit.
