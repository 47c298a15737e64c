"""int8 models: loading them and fast integer inference under viper (calibrate.py makes them).

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
import sys

from . import activations, exact, kernels, tables
from .meta import Meta
from .sizes import INT8_ROW as ROW, layout, param_count

try:
    import micropython
except ImportError:
    from . import _upy as micropython
# viper resolves these casts itself; the plain-Python versions serve CPython and firmware
# without a native emitter (where deploy strips the decorators)
from ._upy import ptr8, ptr16, ptr32

MAX_IN = 8192               # inputs of a layer, for every sum to stay below 2**30
# the per-layer table T: one row of these ints per layer
N_IN, N_OUT, WOFF, COFF, ZX, P, M, SH, KIND, ZY = range(ROW)
KIND_OUT, KIND_LINEAR, KIND_LEAKY = range(3)
KIND_SIGMOID, KIND_TANH = tables.SIGMOID, tables.TANH
_LUT_STEPS = tables.STEPS                           # table steps per unit of z
_lut = tables.lut                                   # the tables, one of each kind per process
_BOUNDED = ("sigmoid", "tanh")


# The scratch every int8 model computes in, one per process (a model alone holds nothing but
# its own data): the inputs as float32 (and one more slot, see run()), two byte buffers the
# layers pass activations through, the output accumulators, the zeros predict() copies its
# result from, and the activation tables (a stand-in until a model needs one).  Grown when a
# model needs more (_fit), never per call.  Module globals: viper code reads a global about
# three times faster than an object's attribute.
_F = _A = _B = _ACC = _Z = None
_SIG = _TANH = b"\0\0"
_width = _n_in = _n_out = 0


def _fit(sizes):
    global _F, _A, _B, _ACC, _Z, _width, _n_in, _n_out
    if sizes[0] > _n_in:
        _n_in = sizes[0]
        _F = array.array("f", bytearray(4 * (sizes[0] + 1)))
    if max(sizes) > _width:
        _width = max(sizes)
        _A = bytearray(_width)
        _B = bytearray(_width)
    if sizes[-1] > _n_out:
        _n_out = sizes[-1]
        _ACC = array.array("i", bytearray(4 * sizes[-1]))
        _Z = [0.0] * sizes[-1]      # predict's new list is a slice of it: one list made, not two


def _regions(sizes):
    """Byte offset and length of each part of an int8 model's one buffer, in memory order:
    T, scales, C (4-byte aligned, first), W, and last a tail with the sizes, activation codes
    and bias flag (what describe() reports), placed so that the whole is a multiple of 4 bytes
    long (a 32-bit view of it must be possible)."""
    (_, nt), (_, ns), (_, nw), (_, nc) = layout(sizes, False, "b")
    out = []
    at = 0
    for n in (4 * nt, 4 * ns, 2 * nc, nw):
        out.append((at, n))
        at += n
    tail = 3 * len(sizes)
    out.append(((at + tail + 3) // 4 * 4 - tail, tail))
    return out


def new_buffers(sizes):
    """A zeroed buffer for a model of these layer sizes (one allocation, made first while the
    heap has the most room in one piece)."""
    at, n = _regions(sizes)[-1]
    return bytearray(at + n)


class QNetwork(Meta):
    """A quantized network: predict() and predict_many() like a float Network, save() to .mnn.

    All its state is one bytearray: the per-layer int table T, the float32 scales (input scale,
    then each layer's accumulator scale), C (two 16-bit halves of each row's constant), W (all
    weight bytes) and its description.  The activation tables and the scratch it computes in
    are shared by all int8 models of the process (_lut, _fit).
    """
    dtype = "b"

    def __init__(self, sizes, acts, bias, buf=None):
        """A model of these sizes; buf: its buffer (None: a zeroed one, to be read from a file and
        then check()ed)."""
        from .activations import NAMES
        L = len(sizes) - 1
        self._m = buf or new_buffers(sizes)
        # four attributes, all on the instance (predict() reads those quicker than a class's);
        # an instance's attribute table holds four before it grows
        self._k = L                 # the number of layers, and the outputs << 8 once ready
        self._act = None            # the output activation still to apply in float
        self.scaler = None
        at, n = _regions(sizes)[-1]
        tail = memoryview(self._m)[at:at + n]
        for l in range(L + 1):
            tail[2 * l] = sizes[l] & 0xFF
            tail[2 * l + 1] = sizes[l] >> 8
        for l in range(L):
            tail[2 * L + 2 + l] = NAMES.index(acts[l])
        tail[3 * L + 2] = 1 if bias else 0

    # -- description ---------------------------------------------------------------------------

    def _tail(self):
        L = self._k & 0xFF
        return memoryview(self._m)[len(self._m) - 3 * L - 3:]

    @property
    def sizes(self):
        t = self._tail()
        return [t[2 * l] | t[2 * l + 1] << 8 for l in range((self._k & 0xFF) + 1)]

    @property
    def activations(self):
        from .activations import NAMES
        t = self._tail()
        L = self._k & 0xFF
        return [NAMES[t[2 * L + 2 + l]] for l in range(L)]

    @property
    def bias(self):
        return bool(self._tail()[3 * (self._k & 0xFF) + 2])

    @property
    def n_params(self):
        return param_count(self.sizes, self.bias)

    def describe(self):
        """What the file format records of the model besides its buffers (meta.Meta included)."""
        d = {"layers": self.sizes, "activations": self.activations, "bias": self.bias, "dtype": "b"}
        d.update(self.meta())
        return d

    def _views(self):
        m = memoryview(self._m)
        return [m[at:at + n] for at, n in _regions(self.sizes)[:4]]

    def buffers(self):
        """The model's buffers in file order (sizes.layout): T, scales, W, C (little-endian)."""
        T, scales, C, W = self._views()
        return [T, scales, W, C]

    @property
    def T(self):
        return array.array("i", bytes(self._views()[0]))

    @property
    def scales(self):
        return array.array("f", bytes(self._views()[1]))

    @property
    def W(self):
        return self._views()[3]

    @property
    def C(self):
        return array.array("H", bytes(self._views()[2]))

    @property
    def _acc(self):
        """The raw output accumulators of the last prediction (tests compare runtimes on them)."""
        return _ACC[:self.sizes[-1]]

    @property
    def nbytes(self):
        """Bytes of model storage: weight bytes, row constants, the layer table and scales."""
        return sum(n for _, n in _regions(self.sizes)[:4])

    def __repr__(self):
        return "QNetwork(%s, activations=%s, bias=%s, int8, params=%d)" % (
            "-".join(str(s) for s in self.sizes), self.activations, self.bias, self.n_params)

    # -- building ------------------------------------------------------------------------------

    def _ready(self):
        """Size the shared scratch and make the activation tables the model's layers use."""
        global _SIG, _TANH
        sizes, T = self.sizes, self.T
        L = self._k & 0xFF
        kinds = [T[l * ROW + KIND] for l in range(L)]
        if KIND_SIGMOID in kinds:
            _SIG = _lut(KIND_SIGMOID)
        if KIND_TANH in kinds:
            _TANH = _lut(KIND_TANH)
        _fit(sizes)
        self._k = L | sizes[-1] << 8
        act = self.activations[-1]
        # (sigmoid and tanh come from the tables)
        self._act = None if act in _BOUNDED else activations.get(act)[0]
        return self

    def check(self):
        """After reading a file: check that the layer table agrees with the layer sizes (the
        kernels index memory with it), then get ready to predict."""
        if sys.byteorder != "little":
            _swap(self._views())        # the file's little-endian values in the host's order
        sizes, acts, T = self.sizes, self.activations, self.T
        woff = coff = 0
        for l in range(len(sizes) - 1):
            t = l * ROW
            last = l == len(sizes) - 2
            kind = T[t + KIND]
            if [T[t + N_IN], T[t + N_OUT], T[t + WOFF], T[t + COFF]] != [sizes[l], sizes[l + 1], woff, coff] or not (
                    0 <= kind <= KIND_TANH) or (kind == KIND_OUT) != (last and acts[l] not in _BOUNDED) or not (
                    0 <= T[t + P] <= 15 and 0 <= T[t + M] < 1 << 15 and 0 <= T[t + SH] <= 30 and T[t + ZY] in (0, 128)):
                raise ValueError("corrupted: layer %d's quantization table does not match its sizes" % l)
            woff += sizes[l] * sizes[l + 1]
            coff += sizes[l + 1]
        k = self.scales[0]
        if not -120 <= k <= 120 or k != int(k):
            raise ValueError("corrupted: input scale 2**%s" % k)
        self._ready()

    # -- inference -----------------------------------------------------------------------------

    def _bad_input(self, x, bad):
        from .data import bad_sample
        bad_sample(x, self.sizes[0], bad, self.scaler is not None)

    def predict(self, x):
        """Outputs (a list) for one sample."""
        return _predict(self, x, _Z[:self._k >> 8])

    def predict_many(self, X):
        """Outputs for each sample of X (a list of lists, or a flat array of whole rows)."""
        from .data import check_rows
        n_in = self.sizes[0]
        n, flat = check_rows(X, n_in, "X", "the network has %d inputs" % n_in)
        x = [0.0] * n_in if flat else None
        out = []
        for s in range(n):
            if flat:
                kernels.load_row(X, s * n_in, x, n_in)
            out.append(self.predict(x if flat else X[s]))
        return out

    def save(self, path, format="mnn"):
        """Write the model atomically as .mnn (quantized models have no JSON form)."""
        if format != "mnn":
            raise ValueError("quantized models are saved as .mnn only, not %r" % (format,))
        from . import store
        views = self._views()
        if sys.byteorder != "little":
            _swap(views)
        try:
            store.save(path, store.header(self.describe()), self.buffers())
        finally:
            if sys.byteorder != "little":
                _swap(views)


def _swap(views):
    """Turn the 4- and 2-byte values of T, scales and C between little-endian (the file's) and
    a big-endian host's order, in place."""
    for view, size in zip(views[:3], (4, 4, 2)):
        for at in range(0, len(view), size):
            view[at:at + size] = bytes(reversed(bytes(view[at:at + size])))


@micropython.viper
def _predict(q, X, OUT):
    """QNetwork q's outputs for the sample X in the list OUT (returned): its input scaling, run()
    and its output activation; a ValueError that says what is wrong with a bad X.

    A viper function so that QNetwork.predict keeps a frame of a few words: MicroPython takes a
    frame of more than 11 words from the heap at every call, and in a heap that has been in use
    for a while, finding room for it took more time than the network itself."""
    m = q._m
    k = int(q._k)
    F = _F
    bad = 0
    try:
        sc = q.scaler
        if sc:                      # scaled in float32 first, in the scratch
            n = int(ptr32(m)[0])
            if int(len(X)) != n:
                raise TypeError
            exact.to_f32(X, F, n)
            sc.apply(F)
            bad = int(run(0, 0, 0, m, k & 0xFF, _F, OUT, None, None))
        else:
            bad = int(run(0, 0, 0, m, k & 0xFF, X, OUT, None, None))
    except TypeError:
        bad = -1
    if bad:
        q._bad_input(X, bad)
    act = q._act
    if act:
        act(OUT, k >> 8)
    return OUT


@micropython.viper
def run(w: ptr8, x: ptr8, acc: int, M, nl: int, X, OUT, C, W) -> int:
    """The whole network in one call; returns 0, -1 when X is not a sequence of the network's
    number of inputs, or 1 + the index of an input that is inf or nan.

    M holds the model's layer table T and its scales, and after them the row constants C and
    the weight bytes W, unless C and W are given (a module exported by micronn_host passes them
    apart, its weights read in place; QNetwork passes None).  It computes in the scratch, the
    module's globals (fewer arguments make a quicker call): the inputs X become float32 in _F
    (X may be _F, filled by the caller; the one slot beyond them is scratch), then bytes in _A
    scaled by 2**(scales[0]); each layer (a row of T) goes from the bytes in _A into _B (and the
    next back); the output layer leaves its accumulators + 2**30, or its 16-bit table values
    (_SIG, _TANH), in _ACC, and OUT[j] = (_ACC[j] - offset) * scales[nl].

    The multiply-add loop moves two pointers along a row of weights and the inputs and reads
    them at constant offsets, 16 at a time, which viper compiles to the fewest instructions.
    w, x and acc are arguments (pass 0) only because viper keeps a function's first locals,
    arguments first, in machine registers.
    """
    F = _F
    tb = ptr32(M)
    o = ptr32(_ACC)
    f = ptr32(F)
    big = 1 << 15
    big = big << 15                 # 2**30, built at run time: too big a constant for a board
    s31 = 1
    s31 <<= 31                      # sign-extends a 32-bit load: (v ^ s31) - s31
    n = int(tb[0])
    if X is not F:                  # (F itself: the caller filled and scaled it)
        if int(len(X)) != n:
            return -1
        for q in range(n):
            F[q] = X[q]
    sc = 10 * nl                    # scales[0], the input scale's exponent, a whole float32
    b = tb[sc]
    e = (b >> 23) & 0xFF
    kin = 0
    if e:
        kin = (((b & 0x7FFFFF) | 0x800000) >> (150 - e))
        if (b >> 31) & 1:
            kin = 0 - kin
    c = ptr32(M)                    # the row constants, 32 bits each (two 16-bit halves)
    mw = 0                          # W's address
    if C:
        c = ptr32(C)
        mw = int(ptr8(W))
    else:                           # C right after the scales, W right after C
        coff = 4 * (sc + nl + 1)
        last = 10 * (nl - 1)
        c = ptr32(int(ptr8(M)) + coff)
        mw = int(ptr8(M)) + coff + 4 * (int(tb[last + 3]) + int(tb[last + 1]))
    xa = int(ptr8(_A))
    ya = int(ptr8(_B))
    xq = ptr8(xa)
    sx = 0                          # the sum of a layer's input bytes
    for q in range(n):
        b = f[q]
        e = (b >> 23) & 0xFF
        if e == 255:
            return q + 1
        r = 150 - e - kin           # value * 2**kin = mantissa >> r (> 25 for e == 0: |kin| <= 120)
        v = 0
        if r <= 0:
            v = 255                 # far out of range: clip below
        elif r <= 25:
            v = ((((b & 0x7FFFFF) | 0x800000) >> (r - 1)) + 1) >> 1
        if (b >> 31) & 1:
            v = 0 - v
        v += 128
        if v < 0:
            v = 0
        elif v > 255:
            v = 255
        xq[q] = v
        sx += v
    kind = 0
    n_out = 0
    for l in range(nl):
        t = l * 10
        n_in = int(tb[t])
        n_out = int(tb[t + 1])
        wa = mw + int(tb[t + 2])    # this layer's first weight
        cj = ptr32(int(c) + 4 * int(tb[t + 3]))     # this layer's row constants
        P = int(tb[t + 5])
        Mu = int(tb[t + 6])
        SH = int(tb[t + 7])
        kind = int(tb[t + 8])
        zy = int(tb[t + 9])
        lut = ptr16(_SIG)
        if kind == 4:
            lut = ptr16(_TANH)
        half = 0
        if SH > 0:
            half = 1 << (SH - 1)
        sx7 = sx << 7               # 128 * sum_i x_i
        sx = 0                      # the next layer's, as this one's outputs are made
        n16 = n_in & ~15
        if kind >= 3 and l == nl - 1:
            kind += 2               # the output layer (5, 6): leave its table values in ACC
        y = ptr8(ya)
        for j in range(n_out):
            w = ptr8(wa)
            x = ptr8(xa)
            acc = ((cj[0] ^ s31) - s31) - sx7
            cj = ptr32(int(cj) + 4)
            e = wa + n16
            while int(w) < e:
                acc += (w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3]
                        + w[4] * x[4] + w[5] * x[5] + w[6] * x[6] + w[7] * x[7]
                        + w[8] * x[8] + w[9] * x[9] + w[10] * x[10] + w[11] * x[11]
                        + w[12] * x[12] + w[13] * x[13] + w[14] * x[14] + w[15] * x[15])
                w = ptr8(int(w) + 16)
                x = ptr8(int(x) + 16)
            wa += n_in
            while int(w) < wa:
                acc += w[0] * x[0]
                w = ptr8(int(w) + 1)
                x = ptr8(int(x) + 1)
            if kind >= 3:           # sigmoid, tanh: interpolate the 16-bit table
                v = (((acc >> P) * Mu + half) >> SH) + 32768
                if v < 0:
                    v = 0
                elif v > 65535:
                    v = 65535
                q = v >> 8
                a = lut[q]
                v = a + (((lut[q + 1] - a) * (v & 255) + 128) >> 8)
                if kind == 3:
                    v = (v * 255 + 32768) >> 16
                elif kind == 4:
                    v = 128 + (((v - 32768) * 127 + 16384) >> 15)
                else:
                    o[j] = v
                    continue
            elif kind == 0:
                o[j] = acc + big    # |acc| < 2**30: stored non-negative
                continue
            else:
                v = ((acc >> P) * Mu + half) >> SH
                if kind == 2 and v < 0:     # leaky_relu: 0.01 ~ 41 / 4096
                    v = (v * 41) >> 12
                v += zy
                if v < 0:
                    v = 0
                elif v > 255:
                    v = 255
            y[j] = v
            sx += v
        q = xa
        xa = ya
        ya = q
    off = 0
    if kind == 0:
        off = big
    elif kind == 6:
        off = 32768
    f[n] = tb[sc + nl]              # the output scale, read back as a float through F
    s = F[n]
    for j in range(n_out):
        OUT[j] = o[j] - off         # a small int: no object made, until the one float
        OUT[j] = OUT[j] * s
    return 0
