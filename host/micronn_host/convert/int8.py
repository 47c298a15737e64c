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
    if getattr(q, "spec", None):
        return _dequantize_conv(q)
    ROW = quant.ROW
    T, scales, W, C = q.T, q.scales, q.W, q.C
    sizes, acts = q.sizes, q.activations
    s_x = 2.0 ** -int(scales[0])
    weights = []
    for l in range(len(sizes) - 1):
        t = l * ROW
        n_in, n_out, woff, coff, zx = (int(v) for v in T[t:t + 5])
        P, M, SH, kind = (int(T[t + k]) for k in (quant.P, quant.M, quant.SH, quant.KIND))
        Wf, b, s_x = _layer(q, l, l == len(sizes) - 2, P, M, SH, kind, scales[l + 1], s_x, W, woff, C, coff,
                            n_out, n_in, zx)
        weights.append([Wf.T.tolist(), b])
    net = micronn.Network(sizes, activation=acts[:-1], output=acts[-1], bias=q.bias, init=False, dtype="f")
    net.set_weights(weights)
    net.set_meta(q.meta())
    return net


def _dequantize_conv(q):
    """dequantize() of an int8 model with convolutions (micronn.qconv): its table has a row per
    layer, pooling included (which keeps its input's scale)."""
    from micronn import qconv
    ROW = qconv.ROW
    T, scales, W, C = q.T, q.scales, q.W, q.C
    s_x = 2.0 ** -int(scales[0])
    n = len(q.activations)
    weights = []
    for l in range(n):
        t = l * ROW
        kind = int(T[t + qconv.KIND])
        if kind != qconv.T_WEIGHTS:
            weights.append(None)
            continue
        ch, fo, k = (int(T[t + i]) for i in (qconv.CH, qconv.FO, qconv.K))
        woff, coff, zx = (int(T[t + i]) for i in (qconv.WOFF, qconv.COFF, qconv.ZX))
        P, M, SH, act = (int(T[t + i]) for i in (qconv.P, qconv.M, qconv.SH, qconv.ACT))
        Wf, b, s_x = _layer(q, l, l == n - 1, P, M, SH, act, scales[l + 1], s_x, W, woff, C, coff, fo, k * ch, zx)
        # get_weights() shapes: a convolution's [K][C][F], a dense layer's [n_in][n_out]
        shaped = Wf.reshape(fo, k, ch).transpose(1, 2, 0).tolist() if _is_conv(q.spec, l) else Wf.T.tolist()
        weights.append([shaped, b])
    hidden = [a for l, a in enumerate(q.activations[:-1]) if weights[l] is not None]
    net = micronn.Network(q.spec, activation=hidden, output=q.activations[-1], bias=q.bias, init=False, dtype="f")
    net.set_weights(weights)
    net.set_meta(q.meta())
    return net


def _layer(q, l, last, P, M, SH, kind, scale, s_x, W, woff, C, coff, rows, per, zx):
    """One layer of weights of an int8 model (dense or with convolutions: the activation kinds
    are numbered alike) dequantized: (its weights as rows of `per`, its biases or None, the
    scale of the next layer's input bytes)."""
    import numpy as np
    m = M / 2.0 ** (P + SH)                         # ((acc >> P) * M) >> SH ~ acc * m
    if kind in (quant.KIND_SIGMOID, quant.KIND_TANH) and last:
        s_acc = m / (quant._LUT_STEPS[kind] * 256)
    else:
        s_acc = float(scale)
    s_w = s_acc / s_x
    Wq = np.frombuffer(bytes(W[woff:woff + rows * per]), dtype=np.uint8).astype(np.int64).reshape(rows, per)
    lo = np.array([C[2 * (coff + j)] for j in range(rows)], dtype=np.int64)
    hi = np.array([C[2 * (coff + j) + 1] for j in range(rows)], dtype=np.int64)
    c = ((hi ^ 0x8000) - 0x8000) * 65536 + lo
    bq = c + zx * Wq.sum(axis=1) - 128 * zx * per
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
    return (Wq - 128) * s_w, (bq * s_acc).tolist() if q.bias else None, s_x


def _is_conv(spec, l):
    return isinstance(spec[l + 1], str) and spec[l + 1].startswith("conv")
