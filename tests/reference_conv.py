"""An independent NumPy 1-D CNN: the oracle for micronn's convolution and pooling layers.

Written from the definitions with NumPy arrays, sharing no code with lib/micronn (the
activations and losses are tests/reference.py's).  A sample is a window of L readings of C
channels, as an (L, C) array; a batch is (n, L, C).  Layers, with micronn's get_weights()
shapes:

    ("conv", W (K, C, F), b (F,) or None, stride, "valid" | "same")
    ("max", size), ("avg", size)           pooling of `size` readings, stride `size`
    ("gap",)                                the mean over all readings
    ("dense", W (n_in, n_out), b or None)   on the (L, C) input flattened row by row

each followed by an activation name (pooling: "linear").

"same" padding pads (out - 1) * stride + K - L readings with zeros, the smaller half on the
left (TensorFlow's and ONNX's SAME_UPPER).
"""
import re

import numpy as np

from reference import act, act_grad, loss_value


def out_len(L, K, stride, padding):
    if padding == "same":
        return -(-L // stride)
    return (L - K) // stride + 1


def pads(L, K, stride, padding):
    """(left, right) zero readings."""
    if padding != "same":
        return 0, 0
    total = max((out_len(L, K, stride, padding) - 1) * stride + K - L, 0)
    return total // 2, total - total // 2


def conv_forward(X, W, b, stride, padding):
    """X (n, L, C) -> (n, L_out, F): out[t, f] = b[f] + sum_{k, c} W[k, c, f] x[t*stride + k - pl, c]."""
    n, L, C = X.shape
    K, _, F = W.shape
    pl, pr = pads(L, K, stride, padding)
    Xp = np.concatenate([np.zeros((n, pl, C)), X, np.zeros((n, pr, C))], axis=1)
    Lo = out_len(L, K, stride, padding)
    out = np.zeros((n, Lo, F))
    for t in range(Lo):
        for k in range(K):
            out[:, t, :] += Xp[:, t * stride + k, :] @ W[k]
    if b is not None:
        out += b
    return out


def conv_backward(X, W, D, stride, padding):
    """(dL/dW, dL/db, dL/dX) from the deltas D (n, L_out, F) of conv_forward(X, W, ...)."""
    n, L, C = X.shape
    K, _, F = W.shape
    pl, pr = pads(L, K, stride, padding)
    Xp = np.concatenate([np.zeros((n, pl, C)), X, np.zeros((n, pr, C))], axis=1)
    dW = np.zeros_like(W)
    dXp = np.zeros_like(Xp)
    for t in range(D.shape[1]):
        for k in range(K):
            dW[k] += Xp[:, t * stride + k, :].T @ D[:, t, :]
            dXp[:, t * stride + k, :] += D[:, t, :] @ W[k].T
    return dW, D.sum(axis=(0, 1)), dXp[:, pl:pl + L, :]


def pool_forward(X, size, kind):
    n, L, C = X.shape
    Lo = L // size
    win = X[:, :Lo * size, :].reshape(n, Lo, size, C)
    return win.max(axis=2) if kind == "max" else win.mean(axis=2)


def pool_backward(X, D, size, kind):
    """dL/dX: max pooling sends each delta to the first largest reading of its window."""
    n, L, C = X.shape
    Lo = L // size
    dX = np.zeros_like(X)
    for t in range(Lo):
        w = X[:, t * size:(t + 1) * size, :]                # (n, size, C)
        if kind == "max":
            first = w.argmax(axis=1)                        # (n, C): the first largest
            for s in range(n):
                for c in range(C):
                    dX[s, t * size + first[s, c], c] = D[s, t, c]
        else:
            dX[:, t * size:(t + 1) * size, :] = D[:, t:t + 1, :] / size
    return dX


class CNN:
    def __init__(self, shape, layers, acts):
        """shape: (L, C) of the input; layers as in the module docstring; acts: one per layer."""
        self.shape = shape
        self.layers = [list(layer) for layer in layers]
        for layer in self.layers:
            if layer[0] in ("conv", "dense"):
                layer[1] = np.array(layer[1], dtype=float)
                layer[2] = None if layer[2] is None else np.array(layer[2], dtype=float)
        self.acts = acts

    def forward(self, X):
        A = np.array(X, dtype=float).reshape((-1,) + tuple(self.shape))
        self.A, self.Z = [A], []
        for layer, a in zip(self.layers, self.acts):
            kind = layer[0]
            if kind == "conv":
                Z = conv_forward(A, layer[1], layer[2], layer[3], layer[4])
            elif kind in ("max", "avg"):
                Z = pool_forward(A, layer[1], kind)
            elif kind == "gap":
                Z = A.mean(axis=1, keepdims=True)
            else:
                Z = A.reshape(len(A), -1) @ layer[1] + (0 if layer[2] is None else layer[2])
            A = act(a, Z)
            self.Z.append(Z)
            self.A.append(A)
        return A

    def loss(self, X, T, loss):
        return loss_value(loss, self.forward(X), np.array(T, dtype=float))

    def gradient(self, X, T, loss):
        """The gradient of loss(X, T): one (dW, db) per layer, None for pooling."""
        T = np.array(T, dtype=float)
        Yh = self.forward(X)
        n, k = T.shape
        out = self.acts[-1]
        if loss in ("sse", "mse"):
            G = 2 * (Yh - T) / (1 if loss == "sse" else n * k)
            if out == "softmax":
                D = Yh * (G - np.sum(G * Yh, axis=1, keepdims=True))
            else:
                D = G * act_grad(out, self.Z[-1])
        else:
            D = (Yh - T) / (n * k if loss == "bce" else n)
        grads = [None] * len(self.layers)
        for l in range(len(self.layers) - 1, -1, -1):
            layer, A = self.layers[l], self.A[l]
            kind = layer[0]
            if kind == "conv":
                dW, db, dA = conv_backward(A, layer[1], D, layer[3], layer[4])
                grads[l] = (dW, db)
            elif kind in ("max", "avg"):
                dA = pool_backward(A, D, layer[1], kind)
            elif kind == "gap":
                dA = np.repeat(D, A.shape[1], axis=1) / A.shape[1]
            else:
                flat = A.reshape(len(A), -1)
                grads[l] = (flat.T @ D, D.sum(axis=0))
                dA = (D @ layer[1].T).reshape(A.shape)
            if l:
                D = dA * act_grad(self.acts[l - 1], self.Z[l - 1])
        return grads

    def fit(self, X, T, epochs, lr, loss, batch_size=None, optimizer="sgd",
            momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
        """Batches in order (no shuffling); returns the per-epoch loss measured before each step."""
        X = np.array(X, dtype=float)
        T = np.array(T, dtype=float)
        n = len(X)
        bs = n if batch_size is None else batch_size
        params = [(l, p) for l, layer in enumerate(self.layers) if layer[0] in ("conv", "dense")
                  for p in (1, 2) if layer[p] is not None]
        state = {p: [0.0, 0.0] for p in params}
        t = 0
        history = []
        for _ in range(epochs):
            total = 0.0
            for s in range(0, n, bs):
                xb, tb = X[s:s + bs], T[s:s + bs]
                lv = loss_value(loss, self.forward(xb), tb)
                total += lv if loss == "sse" else lv * len(xb)
                grads = self.gradient(xb, tb, loss)
                t += 1
                for l, p in params:
                    g = grads[l][p - 1]
                    P = self.layers[l][p]
                    if optimizer == "sgd":
                        P -= lr * g
                    elif optimizer == "momentum":
                        v = momentum * state[(l, p)][0] - lr * g
                        state[(l, p)][0] = v
                        P += v
                    else:
                        mo = beta1 * state[(l, p)][0] + (1 - beta1) * g
                        ve = beta2 * state[(l, p)][1] + (1 - beta2) * g * g
                        state[(l, p)] = [mo, ve]
                        lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                        P -= lr_t * mo / (np.sqrt(ve) + eps)
            history.append(total if loss == "sse" else total / n)
        return history

    def weights(self):
        """micronn's get_weights() form."""
        out = []
        for layer in self.layers:
            if layer[0] in ("conv", "dense"):
                out.append([layer[1].tolist(), None if layer[2] is None else layer[2].tolist()])
            else:
                out.append(None)
        return out


def ref_layers(specs, weights, hidden, output):
    """The reference's layers and activations for a micronn spec list and get_weights() (the
    specs read here with regular expressions, not by micronn)."""
    shape = tuple(int(v) for v in specs[0].split("x"))
    layers, acts = [], []
    for l, entry in enumerate(specs[1:]):
        w = weights[l]
        m = re.fullmatch(r"conv(\d+)k(\d+)(?:s(\d+))?(same)?", str(entry))
        if m:
            layers.append(("conv", w[0], w[1], int(m.group(3) or 1), "same" if m.group(4) else "valid"))
        elif isinstance(entry, int):
            layers.append(("dense", w[0], w[1]))
        elif entry == "gap":
            layers.append(("gap",))
        else:
            m = re.fullmatch(r"(max|avg)pool(\d+)", entry)
            layers.append((m.group(1), int(m.group(2))))
        if layers[-1][0] in ("conv", "dense"):
            acts.append(output if l == len(specs) - 2 else hidden)
        else:
            acts.append("linear")
    return CNN(shape, layers, acts)
