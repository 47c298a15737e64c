"""int8 models: quantize(net) and fast integer inference under viper.

Weights are 8-bit, one float scale per layer (the largest |w| maps to 127), stored as unsigned
bytes (w + 128).  Activations between layers are unsigned bytes with a zero point: sigmoid and
relu outputs use 0..255, tanh, linear and the inputs -128..127 shifted by 128.  One layer is

    acc_j = sum_i (w_ji - 128) * (x_i - zx) + bias_j     (exact integers, < 2**30)

computed as sum_i w_ji * x_i - 128 * sum_i x_i + C_j, with everything that does not depend on
the sample folded into the per-row constant C_j at quantize time, so the inner loop is one byte
multiply-add.  acc is mapped back to bytes with a fixed-point multiplier ((acc >> P) * M) >> SH:
directly for relu, leaky_relu and linear, through a 257-entry interpolated table for sigmoid and
tanh.  The output layer is finished in float (its activation included), so the outputs keep
float precision where it is cheap.

The inputs are quantized with a power-of-two scale from their float32 bits, so predict() makes
no float object before the output layer.  Every integer stays below 2**31 for layers of up to
8192 inputs, so the viper kernels give the same bits on a 32-bit board, on the 64-bit unix port
and (as plain Python through the _upy shim) on CPython.
"""
import array
from math import exp, tanh

from . import activations, exact, kernels
from .meta import Meta
from .sizes import INT8_ROW as ROW, layout, param_count

try:
    import micropython
except ImportError:
    from . import _upy as micropython
# viper resolves these casts itself; the plain-Python versions serve CPython and firmware
# without a native emitter (where deploy strips the decorators)
from ._upy import ptr8, ptr16, ptr32

MAX_IN = 8192
# the per-layer table T: one row of these ints per layer
N_IN, N_OUT, WOFF, COFF, ZX, P, M, SH, KIND, ZY = range(ROW)
KIND_OUT, KIND_LINEAR, KIND_LEAKY, KIND_SIGMOID, KIND_TANH = range(5)
_LUT_STEPS = {KIND_SIGMOID: 16, KIND_TANH: 32}      # table steps per unit of z
_BOUNDED = ("sigmoid", "tanh")


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
    bufs = new_buffers(net.sizes)       # first, before calibration churns the heap
    in_max, hidden = _ranges(net, X)
    q = QNetwork.build(net, in_max, hidden, bufs)
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


def _lut(kind):
    """257 16-bit values at z = (i - 128) / steps: sigmoid as 65535 y, tanh as 32768 + 32767 y."""
    steps = _LUT_STEPS[kind]
    out = array.array("H", bytearray(2 * 257))
    for i in range(257):
        z = (i - 128) / steps
        if kind == KIND_SIGMOID:
            y = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
            out[i] = int(65535 * y + 0.5)
        else:
            y = tanh(z)
            out[i] = 32768 + int(32767 * y + (0.5 if y >= 0 else -0.5))
    return out


def new_buffers(sizes):
    """Zeroed buffers for a model of these layer sizes: T, scales, W, C (the .mnn order)."""
    (_, nt), (_, ns), (_, nw), (_, nc) = layout(sizes, False, "b")
    W = bytearray(nw)           # the largest first, while the heap has the most room in one piece
    C = array.array("H", bytearray(2 * nc))
    return [array.array("i", bytearray(4 * nt)), array.array("f", bytearray(4 * ns)), W, C]


class QNetwork(Meta):
    """A quantized network: predict() and predict_many() like a float Network, save() to .mnn.

    Its state is a handful of flat buffers: W (all weight bytes), C (two 16-bit halves of each
    row's constant), T (the per-layer int table), scales (float32: input scale, then each
    layer's accumulator scale) and the tables of the activations it uses.
    """

    def __init__(self, sizes, acts, bias, bufs=None):
        """A model of these sizes; bufs: its buffers T, scales, W, C (None: zeroed ones, to be
        read from a file and then check()ed)."""
        self.sizes = list(sizes)
        self.activations = list(acts)
        self.bias = bool(bias)
        self.dtype = "b"
        self.T, self.scales, self.W, self.C = bufs or new_buffers(sizes)
        self._args = None

    def _ready(self):
        """Make the working buffers and the activation tables the model's layers use."""
        sizes, acts, T, W = self.sizes, self.activations, self.T, self.W
        kinds = [T[l * ROW + KIND] for l in range(len(acts))]
        self._sig = _lut(KIND_SIGMOID) if KIND_SIGMOID in kinds else self.C     # C: an unused 16-bit stand-in
        self._tanh = _lut(KIND_TANH) if KIND_TANH in kinds else self.C
        width = max(sizes)
        self._a = bytearray(width)
        self._b = bytearray(width)
        self._f = array.array("f", bytearray(4 * sizes[0]))
        self._acc = array.array("i", bytearray(4 * sizes[-1]))
        self._out = [0.0] * sizes[-1]
        # the output activation still to apply in float (sigmoid and tanh come from the tables)
        self._act = None if acts[-1] in _BOUNDED else activations.get(acts[-1])[0]
        self._args = (T, len(acts), W, self.C, self._f, int(self.scales[0]), self._a, self._b, self._sig,
                      self._tanh, self._acc, self._out, self.scales[-1])
        return self

    def check(self):
        """After reading a file: check that the layer table agrees with the layer sizes (the
        kernels index memory with it), then make the working buffers."""
        sizes, acts, T = self.sizes, self.activations, self.T
        woff = coff = 0
        for l in range(len(sizes) - 1):
            t = l * ROW
            last = l == len(sizes) - 2
            kind = T[t + KIND]
            want = (sizes[l], sizes[l + 1], woff, coff)
            if tuple(T[t:t + 4]) != want or not 0 <= kind <= KIND_TANH or (kind == KIND_OUT) != (
                    last and acts[l] not in _BOUNDED) or not (0 <= T[t + P] <= 15 and 0 <= T[t + M] < 1 << 15
                                                             and 0 <= T[t + SH] <= 30 and T[t + ZY] in (0, 128)):
                raise ValueError("corrupted: layer %d's quantization table does not match its sizes" % l)
            woff += sizes[l] * sizes[l + 1]
            coff += sizes[l + 1]
        if not -120 <= self.scales[0] <= 120:
            raise ValueError("corrupted: input scale 2**%s" % self.scales[0])
        self._ready()

    @classmethod
    def build(cls, net, in_max, hidden, bufs):
        sizes, layers = net.sizes, net.layers
        T, scales, W, C = bufs
        k_in = _pow2_scale(in_max, 127.0)
        s_x, zx = 2.0 ** -k_in, 128
        scales[0] = k_in
        woff = coff = 0
        for l, L in enumerate(layers):
            n_in, n_out = L.n_in, L.n_out
            wmax = 0.0
            for k in range(n_in * n_out):
                wmax = max(wmax, abs(L.W[k]))
            s_w = max(wmax, 1e-30) / 127.0
            s_acc = s_w * s_x
            bq_max = 0
            for j in range(n_out):
                row = 0
                for i in range(n_in):
                    q = int(round(L.W[j * n_in + i] / s_w))
                    q = min(127, max(-127, q))
                    W[woff + j * n_in + i] = q + 128
                    row += q + 128
                bq = int(round(L.b[j] / s_acc)) if L.b is not None else 0
                bq = min(1 << 29, max(-(1 << 29), bq))
                bq_max = max(bq_max, abs(bq))
                c = bq - zx * row + 128 * zx * n_in
                C[2 * (coff + j)] = c & 0xFFFF
                C[2 * (coff + j) + 1] = (c >> 16) & 0xFFFF
            acc_max = n_in * 128 * 255 + bq_max
            t = l * ROW
            T[t + N_IN], T[t + N_OUT], T[t + WOFF], T[t + COFF], T[t + ZX] = n_in, n_out, woff, coff, zx
            scales[l + 1] = s_acc
            act = L.activation
            last = l == len(layers) - 1
            if act in _BOUNDED:
                kind = KIND_SIGMOID if act == "sigmoid" else KIND_TANH
                T[t + KIND] = kind
                T[t + P], T[t + M], T[t + SH] = _multiplier(s_acc * _LUT_STEPS[kind] * 256, acc_max)
                s_x, zx = (1 / 255.0, 0) if kind == KIND_SIGMOID else (1 / 127.0, 128)
                if last:
                    scales[l + 1] = 1 / 65535.0 if kind == KIND_SIGMOID else 1 / 32767.0
            elif last:
                T[t + KIND] = KIND_OUT
            else:
                T[t + KIND] = KIND_LEAKY if act == "leaky_relu" else KIND_LINEAR
                top = max(hidden[l], 1e-30)
                if act == "relu":
                    s_y, zy = top / 255.0, 0
                else:
                    s_y, zy = top / 127.0, 128
                T[t + P], T[t + M], T[t + SH] = _multiplier(s_acc / s_y, acc_max)
                T[t + ZY] = zy
                s_x, zx = s_y, zy
            woff += n_in * n_out
            coff += n_out
        return cls(sizes, net.activations, net.bias, bufs)._ready()

    # -- description ---------------------------------------------------------------------------

    @property
    def n_params(self):
        return param_count(self.sizes, self.bias)

    def describe(self):
        """What the file format records of the model besides its buffers (meta.Meta included)."""
        d = {"layers": self.sizes, "activations": self.activations, "bias": self.bias, "dtype": "b"}
        d.update(self.meta())
        return d

    def buffers(self):
        """The model's buffers in file order (sizes.layout)."""
        return [self.T, self.scales, self.W, self.C]

    @property
    def nbytes(self):
        """Bytes of model storage: weight bytes, row constants, the layer table and scales."""
        return len(self.W) + 2 * len(self.C) + 4 * len(self.T) + 4 * len(self.scales)

    def __repr__(self):
        return "QNetwork(%s, activations=%s, bias=%s, int8, params=%d)" % (
            "-".join(str(s) for s in self.sizes), self.activations, self.bias, self.n_params)

    # -- inference -----------------------------------------------------------------------------

    def _run(self, x):
        """The outputs for one sample x (a list or array of floats), in a list kept for reuse."""
        f, out = self._f, self._out
        try:
            if len(x) != len(f):
                raise TypeError
            exact.to_f32(x, f, len(f))
            if self.scaler is not None:
                self.scaler.apply(f)
            bad = run(*self._args)
        except TypeError:
            bad = -1
        if bad:
            self._bad_input(x, bad)
        if self._act is not None:
            self._act(out, len(out))
        return out

    def _bad_input(self, x, bad):
        """Raise the ValueError that says what is wrong with the sample x."""
        from .data import length, number
        n = len(self._f)
        if length(x) != n:
            raise ValueError("sample has %s values, expected %d (the network has %d inputs)"
                             % (length(x) if length(x) >= 0 else repr(x), n, n))
        for i in range(n):
            try:
                number(x[i])
            except ValueError as e:
                raise ValueError("input %d: %s" % (i, e))
        raise ValueError("input %d: %r does not fit a float32" % (bad - 1, x[bad - 1]))

    def predict(self, x):
        """Outputs (a list) for one sample."""
        return list(self._run(x))

    def predict_many(self, X):
        """Outputs for each sample of X (a list of lists)."""
        from .data import check_rows
        n_in = self.sizes[0]
        n, flat = check_rows(X, n_in, "X", "the network has %d inputs" % n_in)
        x = [0.0] * n_in if flat else None
        out = []
        for s in range(n):
            if flat:
                kernels.load_row(X, s * n_in, x, n_in)
                out.append(list(self._run(x)))
            else:
                out.append(list(self._run(X[s])))
        return out

    def save(self, path, format="mnn"):
        """Write the model atomically as .mnn (quantized models have no JSON form)."""
        if format != "mnn":
            raise ValueError("quantized models are saved as .mnn only, not %r" % (format,))
        from . import store
        store.save(path, store.header(self.describe()), self.buffers())



def run(T, nl: int, W, C, F, k: int, A, B, SIG, TANH, ACC, OUT, s) -> int:
    """The whole network in one call.

    The float32 inputs F, scaled by 2**k, become bytes in A; each layer (a row of T) goes from
    the bytes in A into B (and the next back); the output layer leaves its accumulators + 2**30,
    or its 16-bit table values, in ACC, and OUT[j] = (ACC[j] - offset) * s.
    Returns 0, or 1 + the index of an input that is inf or nan.
    """
    f = ptr32(F)
    tb = ptr32(T)
    w = ptr8(W)
    c = ptr16(C)
    o = ptr32(ACC)
    x = ptr8(A)
    y = ptr8(B)
    big = 1 << 15
    big = big << 15                 # 2**30, built at run time: too big a constant for a board
    n = int(tb[0])
    for i in range(n):
        b = f[i]
        e = (b >> 23) & 0xFF
        if e == 255:
            return i + 1
        r = 150 - e - k             # value * 2**k = mantissa >> r
        v = 0
        if e == 0 or r > 25:
            v = 0
        elif r <= 0:
            v = 255                 # far out of range: clip below
        else:
            v = ((((b & 0x7FFFFF) | 0x800000) >> (r - 1)) + 1) >> 1
        if (b >> 31) & 1:
            v = 0 - v
        v += 128
        if v < 0:
            v = 0
        elif v > 255:
            v = 255
        x[i] = v
    kind = 0
    n_out = 0
    for l in range(nl):
        t = l * 10
        last = l == nl - 1
        n_in = int(tb[t])
        n_out = int(tb[t + 1])
        k = int(tb[t + 2])          # this layer's first weight
        coff = int(tb[t + 3])
        P = int(tb[t + 5])
        M = int(tb[t + 6])
        SH = int(tb[t + 7])
        kind = int(tb[t + 8])
        zy = int(tb[t + 9])
        lut = ptr16(SIG)
        if kind == 4:
            lut = ptr16(TANH)
        half = 0
        if SH > 0:
            half = 1 << (SH - 1)
        sx = 0
        for i in range(n_in):
            sx += x[i]
        n4 = n_in & ~3
        for j in range(n_out):
            acc = 0
            i = 0
            while i < n4:
                acc += w[k] * x[i] + w[k + 1] * x[i + 1] + w[k + 2] * x[i + 2] + w[k + 3] * x[i + 3]
                i += 4
                k += 4
            while i < n_in:
                acc += w[k] * x[i]
                i += 1
                k += 1
            hi = c[2 * (coff + j) + 1]
            acc += (((hi ^ 0x8000) - 0x8000) << 16) + c[2 * (coff + j)] - 128 * sx
            if kind == 0:
                o[j] = acc + big    # |acc| < 2**30: stored non-negative
                continue
            v = ((acc >> P) * M + half) >> SH
            if kind >= 3:           # sigmoid, tanh: interpolate the 16-bit table
                v += 32768
                if v < 0:
                    v = 0
                elif v > 65535:
                    v = 65535
                i = v >> 8
                a = lut[i]
                v = a + (((lut[i + 1] - a) * (v & 255) + 128) >> 8)
                if last:
                    o[j] = v
                    continue
                if kind == 3:
                    v = (v * 255 + 32768) >> 16
                else:
                    v = 128 + (((v - 32768) * 127 + 16384) >> 15)
            else:
                if kind == 2 and v < 0:     # leaky_relu: 0.01 ~ 41 / 4096
                    v = (v * 41) >> 12
                v += zy
                if v < 0:
                    v = 0
                elif v > 255:
                    v = 255
            y[j] = v
        z = x
        x = y
        y = z
    off = 0
    if kind == 0:
        off = big
    elif kind == 4:
        off = 32768
    for j in range(n_out):
        OUT[j] = float(o[j] - off) * s
    return 0

# Generated from quant.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.quant on firmware without a native emitter.  Do not edit.
