"""int8 models of networks with 1-D convolutions and pooling: fast integer inference under viper.

micronn.quantize(net) makes one of these when the network has convolutions (a dense network's
int8 model is quant.py's).  The arithmetic is quant.py's: weights are bytes w + 128 with one
scale per layer (the largest |w| maps to 127), activations between layers are unsigned bytes
with a zero point zx (128 for the inputs and tanh, linear and leaky_relu outputs, 0 after
relu and sigmoid), and one output of a layer with weights is

    acc = sum_i (w_i - 128) * (x_i - zx) + bias      (exact integers)
        = sum_i w_i * x_i - 128 * sum_i x_i + C       (C: what does not depend on the sample)

mapped back to a byte by a fixed-point multiplier, through the interpolated sigmoid/tanh
table for those; the output layer is finished in float.  A convolution computes that at each
output position over its window of K*C input bytes; a dense layer is a convolution with one
position over all its inputs.  "same" padding is materialized: the layer before writes its
outputs into the middle of the byte buffer and fills the padding with the zero point, whose
(x - zx) is 0.  MaxPool1D takes the largest byte (the scale is positive, so it is the largest
value), AvgPool1D the rounded mean of the bytes; both keep their input's scale and zero point.

The whole network is one viper call over a table of INT8_CONV_ROW ints per layer (run()).
Integers stay below 2**30 for windows of up to MAX_IN inputs, so a 32-bit board, the 64-bit
unix port and CPython (plain Python through the _upy shim) give the same bits.
"""
import array

from . import activations, exact, kernels, tables
from .shapes import CONV, DENSE, GAP, INT8_CONV_ROW as ROW, MAXPOOL, Spec, padding
from .meta import Meta
from .sizes import layout

try:
    import micropython
except ImportError:
    from . import _upy as micropython
from ._upy import ptr8, ptr16, ptr32

MAX_IN = 8192
# one row of T per layer: the kind (0 with weights, 1 maxpool, 2 avgpool), the input's length
# with its padding, channels, the outputs' channels, kernel (pooling: size), stride, output
# length, the input's padding left and right, where the weights and row constants start, the
# input zero point, the multiplier (P, M, SH), the activation kind and the output zero point
KIND, LP, CH, FO, K, S, LO, PL, PR, WOFF, COFF, ZX, P, M, SH, ACT, ZY = range(ROW)
T_WEIGHTS, T_MAX, T_AVG = range(3)
ACT_OUT, ACT_LINEAR, ACT_LEAKY = range(3)
ACT_SIGMOID, ACT_TANH = tables.SIGMOID, tables.TANH
_LUT_STEPS = tables.STEPS
_lut = tables.lut           # shared with the dense int8 models of the process
_BOUNDED = ("sigmoid", "tanh")


def quantize(net, bits=8, X=None):
    """An int8 copy of a float Network with convolutions (see micronn.quant.quantize)."""
    if bits != 8:
        raise ValueError("bits=%r: only 8-bit quantization is implemented" % (bits,))
    spec = Spec(net.spec)
    for l in spec.weighted():
        L, C = spec.in_shape(l)
        n = spec.rows[l][2] * C if spec.rows[l][0] == CONV else L * C
        if n > MAX_IN:
            raise ValueError("layer %d reads %d inputs per output, too many for int8 kernels (at most %d)"
                             % (l, n, MAX_IN))
    bufs = new_buffers(net.spec)
    in_max, hidden = _ranges(net, X)
    q = QConv(net.spec, net.activations, net.bias, bufs)
    q.build(net, in_max, hidden)
    q.set_meta(net.meta())
    return q


def _ranges(net, X):
    """(largest |input|, largest |output| of each layer but the last)."""
    layers = net.layers
    if X is None:
        in_max = 1.0
        hidden = []
        bound = in_max
        for L in layers[:-1]:
            if L.W is not None:     # |z| <= sum |w| * bound + |b| over a row of weights
                rows = L.F if L.kind else L.n_out
                per = len(L.W) // rows
                worst = 0.0
                for j in range(rows):
                    s = abs(L.b[j]) if L.b is not None else 0.0
                    for i in range(per):
                        s += abs(L.W[j * per + i]) * bound
                    worst = max(worst, s)
                bound = worst if L.activation not in _BOUNDED else 1.0
            hidden.append(bound)
        return in_max, hidden
    from .calibrate import _ranges as measured     # the rows' own ranges, as for dense models
    return measured(net, X)


def new_buffers(spec):
    """Zeroed buffers for a model of these layer specs: T, scales, W, C (the .mnn order)."""
    (_, nt), (_, ns), (_, nw), (_, nc) = layout(spec, False, "b")
    W = bytearray(nw)
    C = array.array("H", bytearray(2 * nc))
    return [array.array("i", bytearray(4 * nt)), array.array("f", bytearray(4 * ns)), W, C]


def _geometry(spec):
    """Per layer: (kind, padded input length, channels, output channels, kernel, stride, output
    length, padding left, padding right, weights, rows) as the table holds them."""
    out = []
    for l in range(len(spec.rows)):
        kind, a, b, c, d = spec.rows[l]
        L, C = spec.in_shape(l)
        if kind == CONV:
            lo, pl = padding(L, b, c, d)
            pr = max(0, (lo - 1) * c + b - L - pl)
            out.append((T_WEIGHTS, L + pl + pr, C, a, b, c, lo, pl, pr, a * b * C, a))
        elif kind == DENSE:
            out.append((T_WEIGHTS, 1, L * C, a, 1, 1, 1, 0, 0, a * L * C, a))
        else:
            size = L if kind == GAP else a
            out.append((T_MAX if kind == MAXPOOL else T_AVG, L, C, C, size, size, L // size, 0, 0, 0, 0))
    return out


class QConv(Meta):
    """A quantized network with convolutions: predict(), predict_many() and save() like
    quant.QNetwork.  Its state: T (the per-layer table), scales (float32: the input scale's
    exponent, then each layer's accumulator scale), W (weight bytes), C (two 16-bit halves of
    each row's constant)."""

    dtype = "b"

    def __init__(self, spec, acts, bias, bufs=None):
        self.spec = Spec(spec).entries()
        self.sizes = Spec(spec).widths
        self.activations = list(acts)
        self.bias = bool(bias)
        self.T, self.scales, self.W, self.C = bufs or new_buffers(self.spec)
        self._args = None

    # -- description ---------------------------------------------------------------------------

    @property
    def n_params(self):
        return Spec(self.spec).param_count(self.bias)

    def describe(self):
        d = {"layers": self.sizes, "activations": self.activations, "bias": self.bias, "dtype": "b",
             "spec": self.spec}
        d.update(self.meta())
        return d

    def buffers(self):
        return [self.T, self.scales, self.W, self.C]

    @property
    def nbytes(self):
        return len(self.W) + 2 * len(self.C) + 4 * len(self.T) + 4 * len(self.scales)

    def __repr__(self):
        return "QConv(%s, activations=%s, bias=%s, int8, params=%d)" % (
            "-".join(str(s) for s in self.spec), self.activations, self.bias, self.n_params)

    # -- building --------------------------------------------------------------------------------

    def _table(self):
        """The table's geometry columns, from the specs (build() adds the scales)."""
        T = self.T
        geo = _geometry(Spec(self.spec))
        woff = coff = 0
        for l in range(len(geo)):
            kind, lp, ch, fo, k, s, lo, pl, pr, nw, rows = geo[l]
            t = l * ROW
            T[t + KIND], T[t + LP], T[t + CH], T[t + FO], T[t + K], T[t + S] = kind, lp, ch, fo, k, s
            T[t + LO], T[t + PL], T[t + PR], T[t + WOFF], T[t + COFF] = lo, pl, pr, woff, coff
            woff += nw
            coff += rows
        return geo

    def build(self, net, in_max, hidden):
        """Quantize the float network's weights into the buffers, with these ranges."""
        from .calibrate import _pow2_scale, quantize_rows, requantize
        geo = self._table()
        T, scales, W, C = self.T, self.scales, self.W, self.C
        k_in = _pow2_scale(in_max, 127.0)
        s_x, zx = 2.0 ** -k_in, 128
        scales[0] = k_in
        last = len(net.layers) - 1
        for l, L in enumerate(net.layers):
            t = l * ROW
            T[t + ZX] = zx
            if L.W is None:             # pooling: the input's scale and zero point go through
                T[t + ZY] = zx
                scales[l + 1] = s_x
                continue
            rows = geo[l][10]
            per = len(L.W) // rows
            woff, coff = T[t + WOFF], T[t + COFF]
            s_acc, acc_max = quantize_rows(L.W, L.b, rows, per, s_x, zx, W, woff, C, coff)
            scales[l + 1] = s_acc
            s_y, zy, out_scale = requantize(T, t, (ACT, P, M, SH, ZY), L.activation, l == last, s_acc, acc_max,
                                            hidden[l] if l < len(hidden) else 0.0)
            if out_scale is not None:
                scales[l + 1] = out_scale
            if s_y is not None:
                T[t + ZY] = zy
                s_x, zx = s_y, zy
        return self._ready()

    def check(self):
        """After reading a file: check the table against the specs (the kernel indexes memory
        with it), then make the working buffers."""
        T = self.T
        saved = list(T)
        geo = self._table()             # the geometry the specs give, written over the file's
        ok = list(T) == saved
        n = len(geo)
        for l in range(n):
            t = l * ROW
            act = saved[t + ACT]
            bounded = self.activations[l] in _BOUNDED
            pool = geo[l][0] != T_WEIGHTS
            if pool and (act or saved[t + ZX] != saved[t + ZY]):
                ok = False
            if not (0 <= act <= ACT_TANH and (act == ACT_OUT) == (pool or l == n - 1 and not bounded)
                    and 0 <= saved[t + P] <= 15 and 0 <= saved[t + M] < 1 << 15 and 0 <= saved[t + SH] <= 30
                    and saved[t + ZX] in (0, 128) and saved[t + ZY] in (0, 128)):
                ok = False
            if l and saved[t + ZX] != saved[t - ROW + ZY]:
                ok = False
        if not ok:
            raise ValueError("corrupted: the quantization table does not match the layers")
        if not -120 <= self.scales[0] <= 120:
            raise ValueError("corrupted: input scale 2**%s" % self.scales[0])
        self._ready()

    def _ready(self):
        T = self.T
        n = len(self.activations)
        acts = [T[l * ROW + ACT] for l in range(n)]
        self._sig = _lut(ACT_SIGMOID) if ACT_SIGMOID in acts else self.C
        self._tanh = _lut(ACT_TANH) if ACT_TANH in acts else self.C
        width = 1
        for l in range(n):
            t = l * ROW
            width = max(width, T[t + LP] * T[t + CH])
        self._a = bytearray(width)
        self._b = bytearray(width)
        self._f = array.array("f", bytearray(4 * self.sizes[0]))
        self._acc = array.array("i", bytearray(4 * self.sizes[-1]))
        self._out = [0.0] * self.sizes[-1]
        self._act = None if self.activations[-1] in _BOUNDED else activations.get(self.activations[-1])[0]
        self._args = (T, n, self.W, self.C, self._f, int(self.scales[0]), self._a, self._b, self._sig,
                      self._tanh, self._acc, self._out, self.scales[-1])
        return self

    # -- inference -------------------------------------------------------------------------------

    def _run(self, x):
        """The outputs for one sample x, in the model's own list (_sample)."""
        return _sample(self, x)

    def _bad_input(self, x, bad):
        from .data import bad_sample
        bad_sample(x, len(self._f), bad, self.scaler is not None)

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


@micropython.viper
def _sample(q, X):
    """QConv q's outputs for the sample X in its own list q._out: the input rounded to float32
    and scaled, run(), the output activation; a ValueError that says what is wrong with a bad
    X.  A viper function for its frame, which MicroPython would otherwise take from the heap at
    every call (see quant._predict)."""
    f = q._f
    out = q._out
    bad = 0
    try:
        n = int(len(f))
        if int(len(X)) != n:
            raise TypeError
        exact.to_f32(X, f, n)
        sc = q.scaler
        if sc:
            sc.apply(f)
        bad = int(run(*q._args))
    except TypeError:
        bad = -1
    if bad:
        q._bad_input(X, bad)
    act = q._act
    if act:
        act(out, int(len(out)))
    return out


@micropython.viper
def run(T, nl: int, W, C, F, k: int, A, B, SIG, TANH, ACC, OUT, s) -> int:
    """The whole network in one call: the float32 inputs F, scaled by 2**k, become bytes in A
    (between the first layer's padding, which holds the zero point 128); each layer (a row of
    T) reads the bytes in A and writes B (and the next back), its outputs between the next
    layer's padding, filled with its zero point.  The last layer (dense, one position) leaves
    its accumulators + 2**30, or its 16-bit table values, in ACC, and OUT[j] = (ACC[j] -
    offset) * s.  Returns 0, or 1 + the index of an input that is inf or nan."""
    f = ptr32(F)
    tb = ptr32(T)
    w = ptr8(W)
    c = ptr16(C)
    o = ptr32(ACC)
    x = ptr8(A)
    y = ptr8(B)
    big = 1 << 15
    big = big << 15                 # 2**30, built at run time: too big a constant for a board
    ch = int(tb[2])
    at = int(tb[7]) * ch            # the first input after the padding
    end = (int(tb[1]) - int(tb[8])) * ch
    for i in range(at):
        x[i] = 128
    for i in range(end, int(tb[1]) * ch):
        x[i] = 128
    for i in range(end - at):
        b = f[i]
        e = (b >> 23) & 0xFF
        if e == 255:
            return i + 1
        r = 150 - e - k             # value * 2**k = mantissa >> r
        v = 0
        if e == 0 or r > 25:
            v = 0
        elif r <= 0:
            v = 255
        else:
            v = ((((b & 0x7FFFFF) | 0x800000) >> (r - 1)) + 1) >> 1
        if (b >> 31) & 1:
            v = 0 - v
        v += 128
        if v < 0:
            v = 0
        elif v > 255:
            v = 255
        x[at + i] = v
    act = 0
    fo = 0
    for l in range(nl):
        t = l * 17
        kind = int(tb[t])
        ch = int(tb[t + 2])
        fo = int(tb[t + 3])
        kk = int(tb[t + 4])
        st = int(tb[t + 5]) * ch    # the windows' step, in bytes
        lo = int(tb[t + 6])
        zy = int(tb[t + 16])
        last = l == nl - 1
        # where the outputs go: between the next layer's padding
        ob = 0
        oe = 0
        if not last:
            ob = int(tb[t + 17 + 7]) * fo
            oe = ob + lo * fo
            for i in range(ob):
                y[i] = zy
            for i in range(oe, oe + int(tb[t + 17 + 8]) * fo):
                y[i] = zy
        if kind == 1 or kind == 2:  # pooling, channel by channel
            j = ob
            xs = 0
            for q in range(lo):
                for cc in range(ch):
                    i = xs + cc
                    m = x[i]
                    for r in range(1, kk):
                        i += ch
                        if kind == 1:
                            if x[i] > m:
                                m = x[i]
                        else:
                            m += x[i]
                    if kind == 2:
                        m = (m + (kk >> 1)) // kk
                    y[j] = m
                    j += 1
                xs += st
        else:
            n = kk * ch             # inputs of a window
            n4 = n & ~3
            woff = int(tb[t + 9])
            coff = int(tb[t + 10])
            P = int(tb[t + 12])
            Mu = int(tb[t + 13])
            SH = int(tb[t + 14])
            act = int(tb[t + 15])
            lut = ptr16(SIG)
            if act == 4:
                lut = ptr16(TANH)
            half = 0
            if SH > 0:
                half = 1 << (SH - 1)
            j = ob
            xs = 0
            for q in range(lo):
                sx = 0
                for i in range(xs, xs + n):
                    sx += x[i]
                sx <<= 7            # 128 * the window's sum
                wk = woff
                for ff in range(fo):
                    acc = 0
                    i = xs
                    e = xs + n4
                    while i < e:
                        acc += w[wk] * x[i] + w[wk + 1] * x[i + 1] + w[wk + 2] * x[i + 2] + w[wk + 3] * x[i + 3]
                        i += 4
                        wk += 4
                    e = xs + n
                    while i < e:
                        acc += w[wk] * x[i]
                        i += 1
                        wk += 1
                    hi = c[2 * (coff + ff) + 1]
                    acc += (((hi ^ 0x8000) - 0x8000) << 16) + c[2 * (coff + ff)] - sx
                    if act == 0:
                        o[ff] = acc + big   # |acc| < 2**30: stored non-negative
                        continue
                    v = ((acc >> P) * Mu + half) >> SH
                    if act >= 3:    # sigmoid, tanh: interpolate the 16-bit table
                        v += 32768
                        if v < 0:
                            v = 0
                        elif v > 65535:
                            v = 65535
                        r = v >> 8
                        a = lut[r]
                        v = a + (((lut[r + 1] - a) * (v & 255) + 128) >> 8)
                        if last:
                            o[ff] = v
                            continue
                        if act == 3:
                            v = (v * 255 + 32768) >> 16
                        else:
                            v = 128 + (((v - 32768) * 127 + 16384) >> 15)
                    else:
                        if act == 2 and v < 0:  # leaky_relu: 0.01 ~ 41 / 4096
                            v = (v * 41) >> 12
                        v += zy
                        if v < 0:
                            v = 0
                        elif v > 255:
                            v = 255
                    y[j] = v
                    j += 1
                xs += st
        z = x
        x = y
        y = z
    off = 0
    if act == 0:
        off = big
    elif act == 4:
        off = 32768
    for j in range(fo):
        OUT[j] = float(o[j] - off) * s
    return 0
