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
        self._k = None
        self.state = []
        for P, _ in pairs:
            if name == "momentum":
                self.state.append((new_buffer(len(P)),))
            elif name == "adam":
                self.state.append((new_buffer(len(P)), new_buffer(len(P))))

    def buffers(self):
        """The extra arrays this optimizer keeps (for memory reports)."""
        return [buf for st in self.state for buf in st]

    def step(self, lr, fma=None):
        """One step with the gradient sums.  fma: exact.fma to step float32 parameters with
        integer kernels (each update rounded once, as in training); None: the float kernels.
        Adam always steps in float (its square root and division per parameter)."""
        name = self.name
        if fma is not None and name != "adam":
            self._exact(lr, fma)
        elif name == "sgd":
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

    def _exact(self, lr, fma):
        import array
        if self._k is None:         # one-value arrays: fma() takes its factors as arrays
            self._k = (array.array("f", (1.0,)), array.array("f", (0.0,)), array.array("f", (0.0,)))
        one, k_lr, k_mu = self._k
        k_lr[0] = lr
        k_mu[0] = self.mu
        for p in range(len(self.pairs)):
            P, G = self.pairs[p]
            n = len(P)
            if self.name == "sgd":
                fma(P, P, 1, k_lr, G, 1, n, 0, 1)           # P -= lr G
            else:
                V = self.state[p][0]
                fma(V, V, 0, k_mu, V, 1, n, 0, 0)           # V = mu V
                fma(V, V, 1, k_lr, G, 1, n, 0, 1)           # V -= lr G
                fma(P, P, 1, one, V, 1, n, 0, 0)            # P += V

# Generated from optim.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.optim on firmware without a native emitter.  Do not edit.
