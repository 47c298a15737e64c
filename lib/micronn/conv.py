"""1-D convolution and pooling layers, and their kernels (viper on MicroPython).

Rows are windows flattened channel-last: reading t, channel c of a layer's input is x[t*C + c],
and its outputs are laid out the same way (position t, filter f at out[t*F + f]).  So the
window an output position reads is one contiguous run of K*C inputs, and a Conv1D is a dense
layer of F units over K*C inputs, applied at each position with shared weights:

    out[t*F + f] = b[f] + sum_{k<K, c<C} W[f*K*C + k*C + c] * x[(t*stride - pad + k)*C + c]

with inputs outside the window reading as 0 ("same" padding: pad = the TensorFlow/ONNX
SAME_UPPER split, the extra one on the right).  The weights are one flat array of F rows of
K*C, as a dense layer's are (get_weights() shapes them [K][C][F], as Keras does).
MaxPool1D/AvgPool1D take `size` readings with stride `size` per channel (a remainder at the end
is dropped); GlobalAvgPool1D is an AvgPool1D over the whole window.

Two ways through them, as for dense layers (network.py, exact.py):

- float kernels (below): the reference, used on CPython, for float64 networks and on firmware
  without viper;
- under viper, for float32 networks, the integer kernels of exact.py: each output position's
  window is gathered into a small array and computed by exact.align/exact.dense (rounded once),
  the weight gradient is summed with exact.fma, and the input gradient is a dense product too,
  of each input position with the deltas that reached it (the weights transposed once per
  sample).  The viper helpers here only move float32 bits (no float object is made).

The layers are built by Network from a spec list (micronn.layers); a network of dense layers
never imports this module.
"""
import array
from math import sqrt

from . import activations, exact, kernels
from .data import zeros
from .shapes import AVGPOOL, CONV, DENSE, GAP, MAXPOOL, Spec, padding

try:
    import micropython
except ImportError:
    from . import _upy as micropython
# viper resolves these casts itself; the plain-Python versions serve CPython and firmware
# without a native emitter
from ._upy import ptr32


def parse(layers, activation):
    """(shapes.Spec or None, the flat layer sizes, the number of hidden layers with weights,
    their activation or activations) of a layer list with specs; Spec None when it has no
    convolution or pooling (a dense network, its input only flattened)."""
    spec = Spec(layers)
    given = [spec.acts[l] for l in spec.weighted()[:-1]]
    if spec.acts[-1] is not None:
        raise ValueError("the output layer's activation is `output`, not %r in the layer specs" % spec.acts[-1])
    if [a for a in given if a is not None]:
        if not isinstance(activation, str):
            raise ValueError("give the activations in the layer specs or as a list, not both")
        activation = [activation if a is None else a for a in given]
    return (spec if [r for r in spec.rows if r[0]] else None), spec.widths, len(given), activation


def build(spec, acts, bias, dtype, dense):
    """The layers of a shapes.Spec: acts has one activation per layer with weights; dense is the
    dense layer's class (network.Dense)."""
    out = []
    k = 0
    for l in range(len(spec.rows)):
        kind = spec.rows[l][0]
        if kind == DENSE:
            out.append(dense(spec.widths[l], spec.widths[l + 1], acts[k], bias, dtype))
        else:
            out.append(layer(spec, l, acts[k] if kind == CONV else None, bias, dtype))
        if kind in (DENSE, CONV):
            k += 1
    return out


def layer(spec, l, activation, bias, dtype):
    """The layer of row l of a shapes.Spec."""
    kind, a, b, c, d = spec.rows[l]
    L, C = spec.in_shape(l)
    if kind == CONV:
        return Conv1D(L, C, a, b, c, d, activation, bias, dtype)
    if kind == GAP:
        return Pool1D(L, C, L, AVGPOOL)
    return Pool1D(L, C, a, kind)


class _Layer:
    """What convolutions and pooling share with network.Dense: outputs and deltas as lists (the
    float path), made on first use."""
    W = b = GW = Gb = None
    has_b = 0

    def outputs(self):
        if self.out is None:
            self.out = [0.0] * self.n_out
        return self.out

    def prepare_training(self):
        self.outputs()
        if self.delta is None:
            self.delta = [0.0] * self.n_out

    def params(self):
        return [p for p in (self.W, self.b) if p is not None]


class Conv1D(_Layer):
    """A 1-D convolution over an input of L readings of C channels: F filters of K readings,
    stride, 'same' (1) or 'valid' (0) padding; the layer's activation after it."""
    kind = CONV

    def __init__(self, L, C, filters, kernel, stride, same, activation, bias, dtype):
        self.L, self.C, self.F, self.K, self.stride, self.same = L, C, filters, kernel, stride, same
        self.L_out, self.pad = padding(L, kernel, stride, same)
        self.n_in = L * C
        self.n_out = self.L_out * filters
        self.row = kernel * C               # weights per filter
        self.activation = activation
        self.act_forward, self.act_backward = activations.get(activation)
        self.dtype = dtype
        self.W = zeros(dtype, filters * self.row)
        self.b = zeros(dtype, filters) if bias else None
        self.has_b = 1 if bias else 0
        self.out = self.delta = None
        self.GW = self.Gb = None
        self._win = None                    # buffers of the integer path, made on first use

    def grads(self):
        """The gradient sums (made here when missing: online SGD steps from them too)."""
        if self.GW is None:
            self.GW = zeros(self.dtype, len(self.W))
            self.Gb = zeros(self.dtype, self.F) if self.b is not None else None
        return self.GW, self.Gb

    # -- weights ---------------------------------------------------------------------------------

    def init_weights(self, rng, method):
        """Draw the weights in get_weights() order (W[k][c][f]); fans as Keras counts them for
        a convolution: K*C in, K*F out."""
        hi = 1.0
        if method != "uniform":
            # rounded to float32 as a float32 board computes it, so that both draw the same bits
            # (network.Network.init does the same for dense layers)
            h = array.array("f", (6.0 / (self.row + (self.K * self.F if method == "xavier" else 0)),))
            h[0] = sqrt(h[0])
            hi = h[0]
        W, C, row = self.W, self.C, self.row
        for k in range(self.K):
            for c in range(C):
                for f in range(self.F):
                    r = rng.random()        # 24 random bits: exact in float32
                    W[f * row + k * C + c] = r if method == "uniform" else hi * (2.0 * r - 1.0)
        if self.b is not None:
            kernels.fill(self.b, self.F, 0.0)

    def shaped(self, G, Gb):
        """[W, b] as get_weights() gives them: W nested [K][C][F], b a list or None."""
        from .layers import conv_weights
        return conv_weights(self, G, Gb)

    def get_weights(self):
        return self.shaped(self.W, self.b)

    def stage(self, pair, l, dtype, number):
        """(W, b) arrays from a [W, b] pair shaped as get_weights() gives it, checked."""
        from .layers import stage_conv
        return stage_conv(self, pair, l, dtype, number)

    # -- float path ------------------------------------------------------------------------------

    def forward(self, x):
        out = self.outputs()
        conv_forward(x, self.W, self.b, self.has_b, self.L, self.C, self.F, self.K, self.stride, self.pad,
                     self.L_out, out)
        self.act_forward(out, self.n_out)
        return out

    def backward(self, x, dprev, has_prev, lr):
        """Add this sample's gradient to GW, Gb (lr None), or step the weights by it (online SGD:
        the gradient of the whole sample first, since every position shares the weights)."""
        GW, Gb = self.grads()
        if lr is not None:
            kernels.fill(GW, len(GW), 0.0)
            if Gb is not None:
                kernels.fill(Gb, self.F, 0.0)
        conv_backward(x, self.W, GW, Gb, self.has_b, self.L, self.C, self.F, self.K, self.stride, self.pad,
                      self.L_out, self.delta, dprev, has_prev)
        if lr is not None:
            step(self.W, GW, len(GW), lr)
            if Gb is not None:
                step(self.b, Gb, self.F, lr)

    # -- integer path (exact.Exact) ----------------------------------------------------------------

    def _buffers(self, eng):
        if self._win is None:
            n = max(self.row, self.K * self.F, self.C, self.F)
            self._win = zeros("f", n)       # a window of inputs, or of deltas
            self._r = zeros("f", n)         # a window's outputs
            self._S = eng.S if len(eng.S) >= 2 * (n + 1) else array.array("i", bytearray(8 * (n + 1)))
        return self._win, self._r, self._S

    def exact_forward(self, eng, x, out):
        """The outputs of input x (float32) into out, each rounded once (exact.dense)."""
        win, R, S = self._buffers(eng)
        W, B, has_b, row, F, C, n = self.W, self.b, self.has_b, self.row, self.F, self.C, self.n_in
        if B is None:
            B = W
        start = -self.pad * C
        step_in = self.stride * C
        for t in range(self.L_out):
            gather(x, start, n, win, row)
            ex = exact.align(win, row, has_b, S)
            if ex < 0 or not _dense(S, ex, row, W, B, has_b, F, R, row, 1):
                conv_forward(x, self.W, self.b, has_b, self.L, C, F, self.K, self.stride, self.pad, self.L_out, out)
                return
            place(R, out, t * F, F)
            start += step_in

    def exact_backward(self, eng, prev, x, d, dprev, lr):
        """Backpropagate delta d (float32) through the layer whose input was x: the gradient into
        GW, Gb (or a step by it, lr a number), dprev (None for the first layer) the delta of
        the layer before, times its activation's derivative (prev: that layer).  Returns dprev."""
        win, R, S = self._buffers(eng)
        GW, Gb = self.grads()
        F, C, K, row, n = self.F, self.C, self.K, self.row, self.n_in
        if not (exact.finite(d, 0, self.n_out) and exact.finite(x, 0, n)):
            # an inf or nan: the float kernels (the loss turns nan and fit() stops)
            self.delta = d
            self.backward(x, dprev, 0 if dprev is None else 1, lr)
            if dprev is not None:
                eng.derivative(prev.activation, dprev, x, n)
            return dprev
        if lr is not None:
            zero(GW, len(GW))
            if Gb is not None:
                zero(Gb, F)
        dt = R
        start = -self.pad * C
        for t in range(self.L_out):
            gather(x, start, n, win, row)
            exact.copy32(d, t * F, dt, F)
            exact.fma(GW, GW, 1, dt, win, F, row, 0, 0)                 # GW += delta_t x_t
            if Gb is not None:
                exact.fma(Gb, Gb, 1, eng.one, dt, 1, F, 0, 0)           # Gb += delta_t
            start += self.stride * C
        if dprev is not None:
            # dprev at input position p: the transposed weights (C rows of K*F) times the
            # deltas of the positions whose windows hold p, at the tap k that reads it
            WT = self._transposed()
            kf = K * F
            for p in range(self.L):
                gather_back(d, p + self.pad, self.stride, self.L_out, F, K, win)
                ex = exact.align(win, kf, 0, S)
                if ex < 0 or not _dense(S, ex, kf, WT, WT, 0, C, R, kf, 1):
                    self.delta = d
                    conv_backward(x, self.W, None, None, 0, self.L, C, F, K, self.stride, self.pad, self.L_out, d,
                                  dprev, 2)
                    break
                place(R, dprev, p * C, C)
            eng.derivative(prev.activation, dprev, x, n)
        if lr is not None:
            k = eng.lr
            k[0] = lr
            exact.fma(self.W, self.W, 1, k, GW, 1, len(GW), 0, 1)         # W -= lr GW
            if Gb is not None:
                exact.fma(self.b, self.b, 1, k, Gb, 1, F, 0, 1)
        return dprev

    def _transposed(self):
        WT = getattr(self, "_WT", None)
        if WT is None:
            WT = self._WT = zeros("f", len(self.W))
        transpose(self.W, WT, self.F, self.K, self.C)
        return WT


class Pool1D(_Layer):
    """MaxPool1D (kind MAXPOOL) or AvgPool1D (AVGPOOL) of `size` readings, stride `size`, over
    an input of L readings of C channels; GlobalAvgPool1D is AVGPOOL with size L."""
    activation = "linear"

    def __init__(self, L, C, size, kind):
        self.kind = kind
        self.L, self.C, self.size = L, C, size
        self.L_out = L // size
        self.n_in = L * C
        self.n_out = self.L_out * C
        self.act_forward, self.act_backward = activations.get("linear")
        self.out = self.delta = None
        self.gap = kind == AVGPOOL and size == L

    def init_weights(self, rng, method):
        pass

    def get_weights(self):
        return None

    def stage(self, pair, l, dtype, number):
        if pair is not None:
            raise ValueError("layer %d (pooling) has no weights: give None for it, got %r" % (l, pair))
        return None, None

    def forward(self, x):
        out = self.outputs()
        pool_forward(x, self.C, self.size, self.L_out, 1 if self.kind == AVGPOOL else 0, 1.0 / self.size, out)
        return out

    def backward(self, x, dprev, has_prev, lr):
        if has_prev:
            pool_backward(x, self.n_in, self.C, self.size, self.L_out, 1 if self.kind == AVGPOOL else 0,
                          1.0 / self.size, self.delta, dprev)

    def exact_forward(self, eng, x, out):
        if self.kind == MAXPOOL:
            maxpool_bits(x, self.C, self.size, self.L_out, out)
        else:
            pool_forward(x, self.C, self.size, self.L_out, 1, 1.0 / self.size, out)

    def exact_backward(self, eng, prev, x, d, dprev, lr):
        if dprev is None:
            return None
        if self.kind == MAXPOOL:
            maxpool_back_bits(x, self.n_in, self.C, self.size, self.L_out, d, dprev)
        else:
            pool_backward(x, self.n_in, self.C, self.size, self.L_out, 1, 1.0 / self.size, d, dprev)
        eng.derivative(prev.activation, dprev, x, self.n_in)
        return dprev


def _dense(S, ex, n_in, W, B, has_b, n_out, OUT, rs, cs):
    """exact.dense, called from one place (its signature is exact.py's to change)."""
    return exact.dense(W, S, S, ex, n_in, W, B, has_b, n_out, OUT, rs, cs)


# -- float kernels -------------------------------------------------------------------------------------

@micropython.viper
def conv_forward(x, W, b, has_b: int, L: int, C: int, F: int, K: int, stride: int, pad: int, L_out: int, out):
    """out[t*F + f] = b[f] + sum over the window of W[f, k, c] * x[(t*stride - pad + k)*C + c]
    (pre-activation)."""
    row = K * C
    o = 0
    for t in range(L_out):
        p = t * stride - pad        # the window's first reading
        k0 = 0
        if p < 0:
            k0 = 0 - p
        k1 = K
        if p + K > L:
            k1 = L - p
        n = (k1 - k0) * C
        i0 = (p + k0) * C
        for f in range(F):
            s = 0.0
            if has_b:
                s = b[f]
            w = f * row + k0 * C
            i = i0
            for q in range(n):
                s += x[i] * W[w]
                i += 1
                w += 1
            out[o] = s
            o += 1


@micropython.viper
def conv_backward(x, W, GW, Gb, has_b: int, L: int, C: int, F: int, K: int, stride: int, pad: int, L_out: int,
                  delta, dprev, has_prev: int):
    """Add this sample's gradient to GW (and Gb when has_b) and write dprev[i] = sum of
    W * delta over the outputs input i reaches (has_prev 1; 2: dprev only, GW not touched)."""
    row = K * C
    if has_prev:
        for i in range(L * C):
            dprev[i] = 0.0
    o = 0
    for t in range(L_out):
        p = t * stride - pad
        k0 = 0
        if p < 0:
            k0 = 0 - p
        k1 = K
        if p + K > L:
            k1 = L - p
        n = (k1 - k0) * C
        i0 = (p + k0) * C
        for f in range(F):
            d = delta[o]
            o += 1
            if d == 0.0:
                continue
            w = f * row + k0 * C
            i = i0
            if has_prev == 2:
                for q in range(n):
                    dprev[i] += W[w] * d
                    i += 1
                    w += 1
                continue
            if has_b:
                Gb[f] = Gb[f] + d
            if has_prev:
                for q in range(n):
                    dprev[i] += W[w] * d
                    GW[w] = GW[w] + d * x[i]
                    i += 1
                    w += 1
            else:
                for q in range(n):
                    GW[w] = GW[w] + d * x[i]
                    i += 1
                    w += 1


@micropython.viper
def step(P, G, n: int, lr):
    """P -= lr * G (online SGD of a convolution, from its sample's gradient)."""
    for k in range(n):
        P[k] = P[k] - lr * G[k]


@micropython.viper
def pool_forward(x, C: int, size: int, L_out: int, avg: int, inv, out):
    """Max (avg 0) or mean (avg 1, inv = 1 / size) of each channel over `size` readings."""
    o = 0
    for t in range(L_out):
        base = t * size * C
        for c in range(C):
            i = base + c
            m = x[i]
            for k in range(1, size):
                i += C
                v = x[i]
                if avg:
                    m += v
                elif v > m:
                    m = v
            if avg:
                m = m * inv
            out[o] = m
            o += 1


@micropython.viper
def pool_backward(x, n: int, C: int, size: int, L_out: int, avg: int, inv, delta, dprev):
    """dprev: each output's delta back to the reading it took (the first largest), or shared
    equally (avg); readings no window holds get 0."""
    for i in range(n):
        dprev[i] = 0.0
    o = 0
    for t in range(L_out):
        base = t * size * C
        for c in range(C):
            d = delta[o]
            o += 1
            i = base + c
            if avg:
                g = d * inv
                for k in range(size):
                    dprev[i] = g
                    i += C
            else:
                best = i
                m = x[i]
                for k in range(1, size):
                    i += C
                    if x[i] > m:
                        m = x[i]
                        best = i
                dprev[best] = d


# -- integer helpers: float32 bits moved, never a float object -------------------------------------------

@micropython.viper
def gather(X, start: int, n: int, WIN, m: int):
    """WIN[i] = X[start + i] where 0 <= start + i < n, else 0.0 (float32 arrays, as bits)."""
    x = ptr32(X)
    w = ptr32(WIN)
    for i in range(m):
        p = start + i
        v = 0
        if p >= 0:
            if p < n:
                v = x[p]
        w[i] = v


@micropython.viper
def place(R, D, off: int, n: int):
    """D[off + i] = R[i] (float32 arrays, as bits)."""
    r = ptr32(R)
    d = ptr32(D)
    for i in range(n):
        d[off + i] = r[i]


@micropython.viper
def zero(D, n: int):
    d = ptr32(D)
    for i in range(n):
        d[i] = 0


@micropython.viper
def transpose(W, WT, F: int, K: int, C: int):
    """WT[c*K*F + k*F + f] = W[f*K*C + k*C + c]: a convolution's weights as C rows over the K*F
    deltas an input reading meets (float32 arrays, as bits)."""
    w = ptr32(W)
    wt = ptr32(WT)
    row = K * C
    kf = K * F
    for f in range(F):
        for k in range(K):
            for c in range(C):
                wt[c * kf + k * F + f] = w[f * row + k * C + c]


@micropython.viper
def gather_back(D, q: int, stride: int, L_out: int, F: int, K: int, WIN):
    """WIN[k*F + f] = D[t*F + f] for the output position t whose window reads the input reading
    at q - pad through tap k (t*stride + k = q), else 0 (float32 arrays, as bits)."""
    d = ptr32(D)
    w = ptr32(WIN)
    j = 0
    for k in range(K):
        r = q - k
        t = -1
        if r >= 0:
            t = r // stride
            if t * stride != r or t >= L_out:
                t = -1
        if t < 0:
            for f in range(F):
                w[j] = 0
                j += 1
        else:
            i = t * F
            for f in range(F):
                w[j] = d[i]
                i += 1
                j += 1


@micropython.viper
def maxpool_bits(X, C: int, size: int, L_out: int, OUT):
    """MaxPool1D on float32 bits: each float compared through an integer that orders like it."""
    x = ptr32(X)
    o = ptr32(OUT)
    j = 0
    for t in range(L_out):
        base = t * size * C
        for c in range(C):
            i = base + c
            b = x[i]
            m = (((b >> 23) & 0xFF) << 23) | (b & 0x7FFFFF)
            if (b >> 31) & 1:
                m = 0 - m
            best = b
            for k in range(1, size):
                i += C
                b = x[i]
                v = (((b >> 23) & 0xFF) << 23) | (b & 0x7FFFFF)
                if (b >> 31) & 1:
                    v = 0 - v
                if v > m:
                    m = v
                    best = b
            o[j] = best
            j += 1


@micropython.viper
def maxpool_back_bits(X, n: int, C: int, size: int, L_out: int, D, DPREV):
    """DPREV: each output's delta to the first largest reading of its window, 0 elsewhere (float32
    bits)."""
    x = ptr32(X)
    d = ptr32(D)
    dp = ptr32(DPREV)
    for i in range(n):
        dp[i] = 0
    j = 0
    for t in range(L_out):
        base = t * size * C
        for c in range(C):
            i = base + c
            b = x[i]
            m = (((b >> 23) & 0xFF) << 23) | (b & 0x7FFFFF)
            if (b >> 31) & 1:
                m = 0 - m
            best = i
            for k in range(1, size):
                i += C
                b = x[i]
                v = (((b >> 23) & 0xFF) << 23) | (b & 0x7FFFFF)
                if (b >> 31) & 1:
                    v = 0 - v
                if v > m:
                    m = v
                    best = i
            dp[best] = d[j]
            j += 1
