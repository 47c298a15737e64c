"""An independent NumPy multilayer perceptron: the oracle for every layer, activation, loss and
optimizer micronn offers.  Written from the textbook equations with NumPy matrices, sharing no
code with lib/micronn.  Weights use micronn's get_weights() shapes: W is [n_in][n_out]."""
import numpy as np

EPS = 1e-7


def act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z < 0.0, 0.01 * z, z)
    if name == "linear":
        return z
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise KeyError(name)


def act_grad(name, z):
    """d act / d z, elementwise (not for softmax)."""
    if name == "sigmoid":
        s = act("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, 0.01)
    if name == "linear":
        return np.ones_like(z)
    raise KeyError(name)


def loss_value(loss, Yh, T):
    n, k = T.shape
    if loss == "sse":
        return float(np.sum((Yh - T) ** 2))
    if loss == "mse":
        return float(np.sum((Yh - T) ** 2) / (n * k))
    if loss == "bce":
        P = np.clip(Yh, EPS, 1 - EPS)
        return float(-np.sum(T * np.log(P) + (1 - T) * np.log(1 - P)) / (n * k))
    if loss == "cce":
        return float(-np.sum(T * np.log(np.maximum(Yh, EPS))) / n)
    raise KeyError(loss)


class MLP:
    def __init__(self, weights, acts):
        self.W = [np.array(W, dtype=float) for W, _ in weights]
        self.b = [None if b is None else np.array(b, dtype=float) for _, b in weights]
        self.acts = acts

    def forward(self, X):
        A = np.array(X, dtype=float)
        self.Z, self.A = [], [A]
        for W, b, a in zip(self.W, self.b, self.acts):
            Z = A @ W + (0 if b is None else b)
            A = act(a, Z)
            self.Z.append(Z)
            self.A.append(A)
        return A

    def loss(self, X, T, loss):
        return loss_value(loss, self.forward(X), np.array(T, dtype=float))

    def gradient(self, X, T, loss):
        """Gradient of loss(X, T) for every W and b (lists of arrays)."""
        T = np.array(T, dtype=float)
        Yh = self.forward(X)
        n, k = T.shape
        out = self.acts[-1]
        if loss in ("sse", "mse"):
            G = 2 * (Yh - T) / (1 if loss == "sse" else n * k)      # dL/dYh
            if out == "softmax":
                D = Yh * (G - np.sum(G * Yh, axis=1, keepdims=True))
            else:
                D = G * act_grad(out, self.Z[-1])
        elif loss == "bce":
            D = (Yh - T) / (n * k)
        else:
            D = (Yh - T) / n
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            gW[l] = self.A[l].T @ D
            gb[l] = D.sum(axis=0)
            if l:
                D = (D @ self.W[l].T) * act_grad(self.acts[l - 1], self.Z[l - 1])
        return gW, gb

    def fit(self, X, T, epochs, lr, loss, batch_size=None, optimizer="sgd",
            momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
        """Batches in order (no shuffling); returns the per-epoch loss measured before each step."""
        X = np.array(X, dtype=float)
        T = np.array(T, dtype=float)
        n = len(X)
        bs = n if batch_size is None else batch_size
        params = []
        for l in range(len(self.W)):
            params.append(("W", l))
            if self.b[l] is not None:
                params.append(("b", l))
        state = {p: [0.0, 0.0] for p in params}
        t = 0
        history = []
        for _ in range(epochs):
            total = 0.0
            for s in range(0, n, bs):
                xb, tb = X[s:s + bs], T[s:s + bs]
                m = len(xb)
                lv = loss_value(loss, self.forward(xb), tb)
                total += lv if loss == "sse" else lv * m
                gW, gb = self.gradient(xb, tb, loss)
                t += 1
                for p in params:
                    kind, l = p
                    g = gW[l] if kind == "W" else gb[l]
                    P = self.W[l] if kind == "W" else self.b[l]
                    if optimizer == "sgd":
                        P -= lr * g
                    elif optimizer == "momentum":
                        v = momentum * state[p][0] - lr * g
                        state[p][0] = v
                        P += v
                    else:
                        mo = beta1 * state[p][0] + (1 - beta1) * g
                        ve = beta2 * state[p][1] + (1 - beta2) * g * g
                        state[p] = [mo, ve]
                        lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                        P -= lr_t * mo / (np.sqrt(ve) + eps)
            history.append(total if loss == "sse" else total / n)
        return history

    def weights(self):
        return [[W.tolist(), None if b is None else b.tolist()] for W, b in zip(self.W, self.b)]
