"""Making int8 models: quantize(net) measures the ranges of a float Network (calibration),
chooses the scales and writes the QNetwork (quant.py, which loads and runs them)."""
import array

from .quant import (_BOUNDED, _LUT_STEPS, COFF, KIND, KIND_LEAKY, KIND_LINEAR, KIND_OUT, KIND_SIGMOID,
                    KIND_TANH, MAX_IN, M, N_IN, N_OUT, P, ROW, SH, WOFF, ZX, ZY, QNetwork, new_buffers)


def quantize(net, bits=8, X=None):
    """An int8 copy of a float Network, for inference.

    X (optional): typical input rows.  They set the input range and the range of relu,
    leaky_relu and linear hidden layers; without them the inputs are taken to be in [-1, 1]
    and those ranges are bounded from the weights (safe, but coarser).
    """
    if bits != 8:
        raise ValueError("bits=%r: only 8-bit quantization is implemented" % (bits,))
    for L in net.layers:
        if L.n_in > MAX_IN:
            raise ValueError("a layer with %d inputs is too wide for int8 kernels (at most %d)"
                             % (L.n_in, MAX_IN))
    buf = new_buffers(net.sizes)        # first, before calibration churns the heap
    in_max, hidden = _ranges(net, X)
    q = build(net, in_max, hidden, buf)
    q.set_meta(net.meta())              # the same scaling, class names and summary
    return q


def _ranges(net, X):
    """(largest |input|, largest |output| of each hidden layer)."""
    layers = net.layers
    if X is None:
        in_max = 1.0
        hidden = []
        bound = in_max
        for L in layers[:-1]:       # interval bound: |z_j| <= sum_i |w_ji| * bound + |b_j|
            worst = 0.0
            for j in range(L.n_out):
                s = abs(L.b[j]) if L.b is not None else 0.0
                for i in range(L.n_in):
                    s += abs(L.W[j * L.n_in + i]) * bound
                worst = max(worst, s)
            bound = worst if L.activation not in _BOUNDED else 1.0
            hidden.append(bound)
        return in_max, hidden
    from .data import length
    if length(X) < 1:
        raise ValueError("X must be a non-empty list of input rows")
    in_max = 0.0
    hidden = [0.0] * (len(layers) - 1)
    for row in X:                   # one row at a time: no copy of the data set in the heap
        x = net._load_input(row)    # scaled, when the model scales its inputs
        for v in x:
            in_max = max(in_max, abs(v))
        net._forward(x)
        outs = net._layer_outputs()
        for l in range(len(layers) - 1):
            for v in outs[l]:
                hidden[l] = max(hidden[l], abs(v))
    return in_max, hidden


def _pow2_scale(vmax, top):
    """k such that vmax * 2**k <= top and k is as large as possible (a power-of-two scale)."""
    k = 0
    vmax = max(vmax, 1e-30)
    while vmax * 2.0 ** (k + 1) <= top and k < 120:
        k += 1
    while vmax * 2.0 ** k > top and k > -120:
        k -= 1
    return k


def _multiplier(m, acc_max):
    """P, M, SH with ((acc >> P) * M) >> SH ~ acc * m for |acc| <= acc_max, all below 2**30."""
    P = 0
    while acc_max >> P >= 1 << 15:
        P += 1
    target = m * 2.0 ** P
    SH = 0
    while target * 2.0 ** (SH + 1) < 1 << 15 and SH < 30:
        SH += 1
    M = int(target * 2.0 ** SH + 0.5)
    return P, min(M, (1 << 15) - 1), SH


def quantize_rows(Wf, b, rows, per, s_x, zx, W, woff, C, coff):
    """One layer's float weights Wf (rows of `per`) and biases b (or None) as int8 weights
    (stored + 128) in W[woff:] and, per row, the constant of its sum in two 16-bit halves in
    C[2 coff:], for inputs of scale s_x and zero point zx: (the accumulator's scale, the largest
    accumulator)."""
    wmax = 0.0
    for v in Wf:
        wmax = max(wmax, abs(v))
    s_w = max(wmax, 1e-30) / 127.0
    s_acc = s_w * s_x
    bq_max = 0
    for j in range(rows):
        row = 0
        for i in range(per):
            q8 = int(round(Wf[j * per + i] / s_w))
            q8 = min(127, max(-127, q8))
            W[woff + j * per + i] = q8 + 128
            row += q8 + 128
        bq = int(round(b[j] / s_acc)) if b is not None else 0
        bq = min(1 << 29, max(-(1 << 29), bq))
        bq_max = max(bq_max, abs(bq))
        c = bq - zx * row + 128 * zx * per
        C[2 * (coff + j)] = c & 0xFFFF
        C[2 * (coff + j) + 1] = (c >> 16) & 0xFFFF
    return s_acc, per * 128 * 255 + bq_max


def requantize(T, t, cols, act, last, s_acc, acc_max, top):
    """A layer's output stage in row t of an int8 table T (cols: the row's kind, P, M, SH and
    output zero point columns): its activation kind and the multiplier from its accumulator
    (scale s_acc, at most acc_max) to its output bytes, for hidden outputs up to top (relu,
    linear).  Returns (the output bytes' scale and zero point, or None for the last layer when
    it is finished in float; the last layer's output scale when it is squashed, else None)."""
    ck, cp, cm, csh, czy = cols
    if act in _BOUNDED:
        kind = KIND_SIGMOID if act == "sigmoid" else KIND_TANH
        T[t + ck] = kind
        T[t + cp], T[t + cm], T[t + csh] = _multiplier(s_acc * _LUT_STEPS[kind] * 256, acc_max)
        s_y, zy = (1 / 255.0, 0) if kind == KIND_SIGMOID else (1 / 127.0, 128)
        return s_y, zy, (1 / 65535.0 if kind == KIND_SIGMOID else 1 / 32767.0) if last else None
    if last:
        T[t + ck] = KIND_OUT
        return None, None, None
    T[t + ck] = KIND_LEAKY if act == "leaky_relu" else KIND_LINEAR
    top = max(top, 1e-30)
    s_y, zy = (top / 255.0, 0) if act == "relu" else (top / 127.0, 128)
    T[t + cp], T[t + cm], T[t + csh] = _multiplier(s_acc / s_y, acc_max)
    T[t + czy] = zy
    return s_y, zy, None


def build(net, in_max, hidden, buf):
    """The QNetwork of net in buf, for these ranges of its inputs and hidden outputs."""
    sizes, layers = net.sizes, net.layers
    q = QNetwork(sizes, net.activations, net.bias, buf)
    Tv, Sv, Cv, Wv = q._views()
    T = array.array("i", bytearray(4 * ROW * (len(sizes) - 1)))
    scales = array.array("f", bytearray(4 * len(sizes)))
    C = array.array("H", bytearray(2 * 2 * sum(sizes[1:])))
    W = Wv
    k_in = _pow2_scale(in_max, 127.0)
    s_x, zx = 2.0 ** -k_in, 128
    scales[0] = k_in
    woff = coff = 0
    for l, L in enumerate(layers):
        n_in, n_out = L.n_in, L.n_out
        s_acc, acc_max = quantize_rows(L.W, L.b, n_out, n_in, s_x, zx, W, woff, C, coff)
        t = l * ROW
        T[t + N_IN], T[t + N_OUT], T[t + WOFF], T[t + COFF], T[t + ZX] = n_in, n_out, woff, coff, zx
        scales[l + 1] = s_acc
        s_y, zy, out_scale = requantize(T, t, (KIND, P, M, SH, ZY), L.activation, l == len(layers) - 1,
                                        s_acc, acc_max, hidden[l] if l < len(hidden) else 0.0)
        if out_scale is not None:
            scales[l + 1] = out_scale
        if s_y is not None:
            s_x, zx = s_y, zy
        woff += n_in * n_out
        coff += n_out
    for view, arr in ((Tv, T), (Sv, scales), (Cv, C)):
        view[:] = bytes(arr)
    return q._ready()
