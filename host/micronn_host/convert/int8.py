"""The float network an int8 model approximates: its weights and biases dequantized.

quant.py stores each weight as a byte q + 128 with one scale s_w per layer, and each bias,
folded into the row constant C_j, as an integer bq on the accumulator's scale s_acc = s_w * s_x
(s_x: the scale of the layer's input bytes).  Dequantized, W = q * s_w and b = bq * s_acc.
The scales are read back from the model: s_acc from its scale table, or, where the table holds
an output scale instead (a sigmoid or tanh output layer), from the fixed-point multiplier the
kernel uses; s_x is 2**-k for the inputs, 1/255 after sigmoid, 1/127 after tanh, and after a
relu, leaky_relu or linear layer the scale its multiplier maps to.

The result computes what the int8 kernel computes before it rounds the activations between
layers to bytes, so its outputs differ from the int8 model's by that rounding (the int8
model's own quantization error), and from the original float network by the weights' rounding.
"""
import micronn
from micronn import quant

from .errors import ConvertError


def dequantize(q):
    """A float32 micronn.Network with q's dequantized weights, scaling and class names."""
    import numpy as np
    ROW = quant.ROW
    T, scales, W, C = q.T, q.scales, q.W, q.C
    sizes, acts = q.sizes, q.activations
    s_x = 2.0 ** -int(scales[0])
    weights = []
    for l in range(len(sizes) - 1):
        t = l * ROW
        n_in, n_out, woff, coff, zx = (int(v) for v in T[t:t + 5])
        P, M, SH, kind, zy = (int(T[t + k]) for k in (quant.P, quant.M, quant.SH, quant.KIND, quant.ZY))
        m = M / 2.0 ** (P + SH)                         # ((acc >> P) * M) >> SH ~ acc * m
        last = l == len(sizes) - 2
        if kind in (quant.KIND_SIGMOID, quant.KIND_TANH) and last:
            s_acc = m / (quant._LUT_STEPS[kind] * 256)
        else:
            s_acc = float(scales[l + 1])
        s_w = s_acc / s_x
        Wq = np.frombuffer(bytes(W[woff:woff + n_in * n_out]), dtype=np.uint8).astype(np.int64)
        Wq = Wq.reshape(n_out, n_in)
        lo = np.array([C[2 * (coff + j)] for j in range(n_out)], dtype=np.int64)
        hi = np.array([C[2 * (coff + j) + 1] for j in range(n_out)], dtype=np.int64)
        c = ((hi ^ 0x8000) - 0x8000) * 65536 + lo
        bq = c + zx * Wq.sum(axis=1) - 128 * zx * n_in
        weights.append([((Wq - 128) * s_w).T.tolist(), (bq * s_acc).tolist() if q.bias else None])
        if q.bias is False and np.any(bq):
            raise ConvertError("layer %d: the int8 model has no biases but its row constants hold some" % l)
        if kind == quant.KIND_SIGMOID:
            s_x = 1 / 255.0
        elif kind == quant.KIND_TANH:
            s_x = 1 / 127.0
        elif not last:
            if m <= 0:
                raise ConvertError("layer %d: the int8 model's multiplier is 0" % l)
            s_x = s_acc / m
    net = micronn.Network(sizes, activation=acts[:-1], output=acts[-1], bias=q.bias, init=False, dtype="f")
    net.set_weights(weights)
    net.set_meta(q.meta())
    return net
