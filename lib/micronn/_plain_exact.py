"""Float32 dense layers computed with integers, for fast inference under viper.

Every float a MicroPython program computes is a new heap object, and every read of an
array('f') boxes one, so a float dot product pays several allocations per multiply-add.  Here
the float32 bits are read as integers instead (ptr32) and the dot product is done in fixed point:

- the inputs are aligned to the largest exponent among them (24-bit mantissas, rounded), and
  each row of weights (with its bias) to the largest exponent in that row;
- each aligned value is split into a signed high limb and a 12-bit low limb, so every partial
  product fits in 25 bits and 32 of them add up without overflowing a 32-bit board's machine
  word; carries are pushed up every 32 terms into a fourth, unbounded word;
- the exact integer sum is rounded once (to nearest, ties to even) into float32 bits.

So the only error is the rounding of inputs and weights that are much smaller than the largest
one in their vector (at most half a unit in the 24th bit of the largest), about what float32
arithmetic itself loses, and the result never depends on the order of the additions.  No float
object is made in the layer; biases ride along as a weight on a constant input 1.0.  Zero and
subnormal values count as zero; an inf or nan anywhere makes the kernels return 0 so that the
caller can use the float kernels instead.

On CPython the same source runs as plain Python through the _upy shim (slowly: the float
kernels are the fast path there).
"""
import array

from .kernels import dense_backward_acc, dense_backward_sgd, dense_forward, load_row, softmax
from .losses import combined, output_delta

try:
    import micropython
except ImportError:
    from . import _upy as micropython
# viper resolves these casts itself; the plain-Python versions serve CPython and firmware
# without a native emitter (where deploy strips the decorators)
from ._upy import ptr32



def align(X, n: int, one: int, S) -> int:
    """Write the float32 values X[0:n], and 1.0 as X[n] when one is 1, into S as fixed-point
    numbers on a common scale (S[2i] = high limb + 0x4000, S[2i+1] = low 12 bits).

    Returns the scale's exponent ex (value = aligned * 2**(ex - 150)), or -1 when X holds an
    inf or nan.
    """
    x = ptr32(X)
    s = ptr32(S)
    ex = 0
    if one:
        ex = 127
    for i in range(n):
        e = (x[i] >> 23) & 0xFF
        if e > ex:
            ex = e
    if ex == 255:
        return -1
    for i in range(n + one):
        b = 0x3F800000              # 1.0, the bias input
        if i < n:
            b = x[i]
        e = (b >> 23) & 0xFF
        sh = ex - e
        m = 0
        if e != 0 and sh < 26:
            m = (((((b & 0x7FFFFF) | 0x800000) << 1) >> sh) + 1) >> 1
            if (b >> 31) & 1:
                m = 0 - m
        s[2 * i] = (m >> 12) + 0x4000
        s[2 * i + 1] = m & 0xFFF
    return ex



def dense(p: ptr32, q: ptr32, S, ex: int, n_in: int, W, B, has_b: int, n_out: int, OUT, rs: int,
          cs: int) -> int:
    """OUT[j] = float32(B[j] + sum_i x[i] * W[j*rs + i*cs]) for inputs aligned by align() (with
    one=has_b) into S.  rs, cs = n_in, 1 for a layer's forward pass; 1, n_out with the layer's
    n_out as n_in here runs the transposed product W^T x of backpropagation.  B must be an
    array even without biases (pass W).  Returns 1, or 0 when a row holds an inf or nan.

    p and q walk the weights and the aligned inputs; they are arguments (pass W and S) only
    because viper keeps a function's first locals, arguments first, in machine registers.
    """
    bb = ptr32(B)
    o = ptr32(OUT)
    wa = int(ptr32(W))              # the address of this row's first weight
    sa = int(ptr32(S))
    step = 4 * cs
    for j in range(n_out):
        # this row's scale: its largest exponent, bias included
        ew = 0
        if has_b:
            ew = (bb[j] >> 23) & 0xFF
        p = ptr32(wa)
        for i in range(n_in):
            e = (p[0] >> 23) & 0xFF
            if e > ew:
                ew = e
            p = ptr32(int(p) + step)
        if ew == 255:
            return 0
        lim = ew - 26               # smaller exponents (and zero, e = 0) round to nothing
        if lim < 0:
            lim = 0
        # the exact sum is hi * 2**48 + hh * 2**24 + mid * 2**12 + ll
        hi = 0
        hh = 0
        mid = 0
        ll = 0
        p = ptr32(wa)
        q = ptr32(sa)
        i = 0
        b = 0
        while i <= n_in:
            stop = i + 32
            if stop > n_in:
                stop = n_in
            while i <= stop:
                if i < stop:
                    b = p[0]
                    p = ptr32(int(p) + step)
                elif i == n_in and has_b:
                    b = bb[j]       # the bias, times the constant input 1.0 at S[2*n_in]
                else:
                    break
                e = (b >> 23) & 0xFF
                if e > lim:
                    m = (((((b & 0x7FFFFF) | 0x800000) << 1) >> (ew - e)) + 1) >> 1
                    if (b >> 31) & 1:
                        m = 0 - m
                    wh = m >> 12
                    wl = m & 0xFFF
                    xh = q[0] - 0x4000
                    xl = q[1]
                    hh += wh * xh
                    mid += wh * xl + wl * xh
                    ll += wl * xl
                q = ptr32(int(q) + 8)
                i += 1
            mid += ll >> 12
            ll &= 0xFFF
            hh += mid >> 12
            mid &= 0xFFF
            hi += hh >> 24
            hh &= 0xFFFFFF
            if stop == n_in:
                break
        wa += 4 * rs
        # round the sum to float32 bits: make it non-negative, find its top 24 bits
        c = (mid << 12) | ll
        sign = 0
        if hi < 0:
            sign = 1
            c = 0 - c
            hh = (0 - hh) + (c >> 24)
            c &= 0xFFFFFF
            hi = (0 - hi) + (hh >> 24)
            hh &= 0xFFFFFF
        off = 48                    # the sum is (h * 2**24 + m) * 2**off + (low bits)
        h = hi
        m = hh
        low = c
        if hi == 0:
            off = 24
            h = hh
            m = c
            low = 0
            if hh == 0:
                off = 0
                h = c
                m = 0
        if h == 0:
            o[j] = 0
            continue
        nb = 1
        while h >> nb:
            nb += 1
        mant = (h << (24 - nb)) | (m >> nb)
        rem = m & ((1 << nb) - 1)
        half = 1 << (nb - 1)
        if rem > half or (rem == half and (low != 0 or (mant & 1))):
            mant += 1
            if mant == 0x1000000:
                mant = 0x800000
                nb += 1
        e = off + nb + ex + ew - 174    # value = sum * 2**(ex + ew - 300)
        if e >= 255:                # overflow: inf
            e = 255
            mant = 0
        if e <= 0:
            o[j] = 0
        else:
            o[j] = (sign << 31) | (e << 23) | (mant & 0x7FFFFF)
    return 1



def fma(T, A, has_a: int, G, X, rows: int, cols: int, xrow: int, neg: int):
    """T[k] = float32(a + g_j * x) for k = j*cols + i, rounded once: the fused multiply-add.

    a is A[k] (has_a 1), 1.0 (has_a 2) or 0 (has_a 0); g_j = G[j]; x = X[j*xrow + i], so
    xrow 0 is the outer product of G and X (a weight update, a gradient sum, a scaled copy with
    rows 1) and xrow 1 with cols 1 the product of two vectors element by element.  neg 1
    subtracts the product instead.  T may be A, G or X: each element is read before it is
    written.  All arrays are float32.

    The product of two 24-bit mantissas is kept whole, in two 24-bit limbs (12-bit partial
    products, so nothing exceeds 26 bits); when |a| is at least 4 times the product, the product
    is shifted to a's scale with 3 extra bits (guard, round and a sticky bit for the rest), else
    a is shifted to the product's scale and the sum taken exactly in two limbs.  Either way the
    result is the exact value rounded once to nearest, ties to even.  Zero and subnormal inputs
    count as zero and results below the normal range become 0; an inf or nan gives nan, larger
    results inf.
    """
    t = ptr32(T)
    pa = ptr32(A)
    pg = ptr32(G)
    px = ptr32(X)
    inf = 0xFF
    inf <<= 23                      # built at run time: too big a constant for a 32-bit board
    nan = inf | 0x400000
    k = 0
    for j in range(rows):
        gb = pg[j]
        eg = (gb >> 23) & 0xFF
        sg = ((gb >> 31) & 1) ^ neg
        gh = ((gb >> 12) & 0x7FF) | 0x800     # the mantissa's high and low 12 bits
        gl = gb & 0xFFF
        xi = j * xrow
        for i in range(cols):
            ab = 0
            if has_a == 1:
                ab = pa[k]
            elif has_a == 2:
                ab = 0x3F800000
            xb = px[xi + i]
            ea = (ab >> 23) & 0xFF
            ex = (xb >> 23) & 0xFF
            r = 0
            if ea == 255 or ex == 255 or eg == 255:
                r = nan
            elif ex == 0 or eg == 0:        # no product: a itself
                if ea != 0:
                    r = ab
            else:
                sa = (ab >> 31) & 1
                sp = sg ^ ((xb >> 31) & 1)
                ma = (ab & 0x7FFFFF) | 0x800000
                xh = ((xb >> 12) & 0x7FF) | 0x800
                xl = xb & 0xFFF
                # the product's mantissa p1 * 2**24 + p0 (48 bits), value * 2**(ep - 300)
                mid = gh * xl + gl * xh
                p0 = gl * xl + ((mid & 0xFFF) << 12)
                p1 = gh * xh + (mid >> 12) + (p0 >> 24)
                p0 &= 0xFFFFFF
                ep = eg + ex
                sign = sa
                e = 0
                m = 0
                if ea != 0 and ea + 173 >= ep + 48 + (p1 >> 23):
                    # |a| >= 4 |product|: the product at a's scale with guard bits
                    sh = ea + 147 - ep      # >= 22
                    st = 0
                    pw = 0
                    if sh <= 24:
                        pw = (p1 << (24 - sh)) | (p0 >> sh)
                        st = p0 & ((1 << sh) - 1)
                    elif sh < 48:
                        pw = p1 >> (sh - 24)
                        st = p0 | (p1 & ((1 << (sh - 24)) - 1))
                    else:
                        st = 1
                    if st:
                        pw |= 1
                    m = ma << 3
                    if sa == sp:
                        m += pw
                    else:
                        m -= pw
                    e = ea
                    if m >= 0x8000000:
                        m = (m >> 1) | (m & 1)
                        e += 1
                    elif m < 0x4000000:
                        m <<= 1
                        e -= 1
                    rb = m & 7
                    m >>= 3
                    if rb > 4 or (rb == 4 and (m & 1)):
                        m += 1
                        if m == 0x1000000:
                            m = 0x800000
                            e += 1
                else:
                    # a at the product's scale, the sum exact in two limbs (+ a sticky bit)
                    a1 = 0
                    a0 = 0
                    st = 0
                    sh = ea + 150 - ep      # <= 25
                    if ea == 0:
                        sh = 0
                    elif sh >= 24:
                        a1 = ma << (sh - 24)
                    elif sh >= 0:
                        a1 = ma >> (24 - sh)
                        a0 = (ma & ((1 << (24 - sh)) - 1)) << sh
                    elif sh > -24:
                        a0 = ma >> (0 - sh)
                        st = ma & ((1 << (0 - sh)) - 1)
                    else:
                        st = 1
                    r0 = 0
                    r1 = 0
                    if sa == sp:
                        r0 = a0 + p0
                        r1 = a1 + p1 + (r0 >> 24)
                        r0 &= 0xFFFFFF
                    elif a1 > p1 or (a1 == p1 and a0 > p0):
                        r1 = a1 - p1
                        r0 = a0 - p0
                    else:
                        sign = sp
                        r1 = p1 - a1
                        r0 = p0 - a0
                        if st:              # a was cut short: the difference is a little less
                            r0 -= 1
                    if r0 < 0:
                        r0 += 0x1000000
                        r1 -= 1
                    v = r0
                    nb = 0
                    if r1:
                        v = r1
                        nb = 24
                    if v:
                        q = 0               # v's bit length, v < 2**27
                        if v >> 16:
                            q = 16
                        if v >> (q + 8):
                            q += 8
                        if v >> (q + 4):
                            q += 4
                        if v >> (q + 2):
                            q += 2
                        if v >> (q + 1):
                            q += 1
                        nb += q + 1         # the sum's bit length
                        q = nb - 24         # bits below the 24 kept
                        rem = 0
                        half = 1
                        if q <= 0:
                            m = r0 << (0 - q)
                        elif q <= 24:
                            m = (r1 << (24 - q)) | (r0 >> q)
                            rem = r0 & ((1 << q) - 1)
                            half = 1 << (q - 1)
                        else:
                            m = r1 >> (q - 24)
                            rem = ((r1 & ((1 << (q - 24)) - 1)) << 24) | r0
                            half = 1 << (q - 1)
                        if rem > half or (rem == half and (st or (m & 1))):
                            m += 1
                            if m == 0x1000000:
                                m = 0x800000
                                nb += 1
                        e = ep + nb - 174
                if e >= 255:
                    r = (sign << 31) | inf
                elif e > 0:
                    r = (sign << 31) | (e << 23) | (m & 0x7FFFFF)
            t[k] = r
            k += 1



def to_f32(src, dst, n: int):
    """dst[i] = src[i] for a list (or array) of floats src and an array('f') dst."""
    for i in range(n):
        dst[i] = src[i]


# -- activations ---------------------------------------------------------------------------------

STEPS = 16                  # table nodes per unit of z
NODES = 20 * STEPS          # the table covers 0 <= z <= 20; beyond, sigmoid(z) is 1 within 2**-28
_table = []                 # built on first use, then shared by every network in the process


def table():
    """sigmoid(z) and sigmoid'(z) / STEPS at z = n / STEPS for n = 0..NODES, as integers scaled
    by 2**30, interleaved in one array('i') (2.5 KB).

    Computed once with exact integer arithmetic (long integers at build time only), so every
    runtime gets the same table, each entry within half a unit of 2**-30 of the true value.
    """
    if not _table:
        # the array first: the long integers below leave the heap in small pieces for a while
        T = array.array("i", bytearray(8 * (NODES + 1)))
        one = 1 << 72
        c = 0                       # exp(-1 / STEPS) * 2**72, by its series
        term = one
        k = 0
        while term:
            c += term if k % 2 == 0 else -term
            k += 1
            term = term // (STEPS * k)
        E = one                     # exp(-n / STEPS) * 2**72
        for n in range(NODES + 1):
            D = one + E
            T[2 * n] = ((one << 31) // D + 1) >> 1
            T[2 * n + 1] = ((E << 103) // (D * D * STEPS) + 1) >> 1
            E = (E * c) >> 72
        _table.append(T)
    return _table[0]



def squash(Y, n: int, th: int, TAB):
    """Y[i] = sigmoid(Y[i]) (th 0) or tanh(Y[i]) = 2 sigmoid(2 Y[i]) - 1 (th 1), in place on
    float32 bits, by cubic Hermite interpolation in table() with 32-bit integers.

    |z| goes to fixed point with 20 bits below the table step (1/16), the cubic is evaluated in
    units of 2**-30 with 13/10-bit partial products, and the result is rounded once to float32.
    The error is below 2**-26 (1.5e-8) before that rounding, absolute: small outputs keep
    absolute, not relative, accuracy.
    """
    y = ptr32(Y)
    tb = ptr32(TAB)
    one = 1 << 15
    one <<= 15                      # 2**30, built at run time: too big a constant for a board
    top = 20 << 24                  # u = |z| * 2**24 at the end of the table
    for i in range(n):
        b = y[i]
        e = (b >> 23) & 0xFF
        if e == 255 and (b & 0x7FFFFF):
            continue                # nan stays nan
        neg = (b >> 31) & 1
        if th and e:
            e += 1                  # 2 z
        m = (b & 0x7FFFFF) | 0x800000
        u = 0                       # |z| * 2**24: the table index above 2**20, the fraction below
        if e > 131:
            u = top
        elif e >= 126:
            u = m << (e - 126)
        elif e > 101:
            u = ((m >> (125 - e)) + 1) >> 1
        v = one
        if u < top:
            k = (u >> 20) << 1
            f = u & 0xFFFFF
            fh = f >> 10
            fl = f & 0x3FF
            y0 = tb[k]
            d0 = tb[k + 1]
            y1 = tb[k + 2]
            d1 = tb[k + 3]
            v = 2 * (y0 - y1) + d0 + d1
            c = 3 * (y1 - y0) - 2 * d0 - d1
            for step in range(3):   # v = c + v * f / 2**20, three times (Horner)
                vh = v >> 13
                vl = v & 0x1FFF
                s = (vl * fl) >> 10
                s = (s + vl * fh) >> 3
                s = (s + vh * fl) >> 7
                v = c + s + vh * fh * 8
                if step == 0:
                    c = d0
                else:
                    c = y0
        if th:
            v = 2 * v - one         # tanh(|z|), sign below
        else:
            if neg:
                v = one - v         # sigmoid(-z) = 1 - sigmoid(z)
            neg = 0
        # v * 2**-30 to float32 bits, rounded to nearest even
        r = 0
        if v > 0:
            nb = 0
            if v >> 16:
                nb = 16
            if v >> (nb + 8):
                nb += 8
            if v >> (nb + 4):
                nb += 4
            if v >> (nb + 2):
                nb += 2
            if v >> (nb + 1):
                nb += 1
            nb += 1
            q = nb - 24
            mant = v
            if q > 0:
                mant = v >> q
                rem = v & ((1 << q) - 1)
                half = 1 << (q - 1)
                if rem > half or (rem == half and (mant & 1)):
                    mant += 1
                    if mant == 0x1000000:
                        mant = 0x800000
                        nb += 1
            else:
                mant = v << (0 - q)
            r = (neg << 31) | ((nb + 96) << 23) | (mant & 0x7FFFFF)
        y[i] = r



def select(Y, n: int, F, pos: int, other: int):
    """F[i] = pos if Y[i] > 0 else other (float32 bits given as ints): the factors of relu and
    leaky_relu and of their derivatives, which fma() then multiplies by."""
    y = ptr32(Y)
    f = ptr32(F)
    for i in range(n):
        b = y[i]
        if (b >> 31) & 1 or not (b >> 23) & 0xFF:
            f[i] = other
        else:
            f[i] = pos



def copy32(src, off: int, dst, n: int):
    """dst[i] = src[off + i] for float32 arrays, as bits: no float object."""
    s = ptr32(src)
    d = ptr32(dst)
    for i in range(n):
        d[i] = s[off + i]



def finite(X, off: int, n: int) -> int:
    """1 when the float32 values X[off:off+n] are all finite, else 0."""
    x = ptr32(X)
    for i in range(off, off + n):
        if (x[i] >> 23) & 0xFF == 255:
            return 0
    return 1


ONE = 0x3F800000            # float32 bits of 1.0
LEAK = 0x3C23D70A           # float32 bits of 0.01, leaky_relu's slope (kernels.LEAK)


class Exact:
    """A float32 network's forward and backward passes on the integer kernels above.

    Holds what they work in: each layer's outputs and deltas as float32 arrays, the aligned
    limbs (S), a per-unit scratch array (R) and one-value arrays for the constants fma() takes
    as arrays.  Made once per network (training buffers on the first training call); the
    layers' weights are read from the layers on every call.  A layer whose inputs, weights or
    deltas hold an inf or nan runs the float kernels instead, on the same arrays.
    """

    def __init__(self, layers):
        width = max(max(L.n_in, L.n_out) for L in layers)
        self.S = array.array("i", bytearray(8 * (width + 1)))
        self.x = array.array("f", bytearray(4 * layers[0].n_in))
        self.outs = [array.array("f", bytearray(4 * L.n_out)) for L in layers]
        self.R = array.array("f", bytearray(4 * width))
        self.one = array.array("f", (1.0,))
        self.lr = array.array("f", (1.0,))
        self.tab = table() if [L for L in layers if L.activation in ("sigmoid", "tanh")] else None
        self.deltas = self.G = None

    def load(self, src, off, words):
        """A sample into x from src[off:]: a float32 array read as bits (words 1), else any
        sequence of numbers."""
        if words:
            copy32(src, off, self.x, len(self.x))
        else:
            load_row(src, off, self.x, len(self.x))

    def forward(self, layers):
        """The outputs of the sample in x (each layer's in outs)."""
        buf = self.x
        S = self.S
        outs = self.outs
        for l in range(len(layers)):
            L = layers[l]
            out = outs[l]
            n_in = L.n_in
            n_out = L.n_out
            ex = align(buf, n_in, L.has_b, S)
            if ex < 0 or not dense(L.W, S, S, ex, n_in, L.W, L.W if L.b is None else L.b, L.has_b, n_out, out,
                                   n_in, 1):
                dense_forward(buf, L.W, L.b, L.has_b, n_in, n_out, out)
            self.activate(L.activation, out, n_out)
            buf = out
        return buf

    def activate(self, name, Y, n):
        if name == "sigmoid":
            squash(Y, n, 0, self.tab)
        elif name == "tanh":
            squash(Y, n, 1, self.tab)
        elif name == "relu" or name == "leaky_relu":
            R = self.R
            select(Y, n, R, ONE, 0 if name == "relu" else LEAK)
            fma(Y, Y, 0, R, Y, n, 1, 1, 0)          # y = factor * z
        elif name == "softmax":
            softmax(Y, n)

    def derivative(self, name, D, Y, n):
        """D *= the activation's derivative, written in terms of its outputs Y."""
        R = self.R
        if name == "sigmoid":
            fma(R, Y, 1, Y, Y, n, 1, 1, 1)          # y - y y
        elif name == "tanh":
            fma(R, R, 2, Y, Y, n, 1, 1, 1)          # 1 - y y
        elif name == "relu" or name == "leaky_relu":
            select(Y, n, R, ONE, 0 if name == "relu" else LEAK)
        else:
            return
        fma(D, D, 0, D, R, n, 1, 1, 0)

    def backward(self, layers, T, off, loss, s, lr):
        """Backpropagate the sample forward() just ran, against the targets T[off:]; return its
        loss term.  lr a number: step the weights (online SGD, W -= lr * delta x); None: add
        the gradient to the layers' GW and Gb."""
        if self.deltas is None:
            self.deltas = [array.array("f", bytearray(4 * L.n_out)) for L in layers]
            self.G = array.array("f", bytearray(4 * max(L.n_out for L in layers)))
        top = len(layers) - 1
        L = layers[top]
        d = self.deltas[top]
        value = output_delta(loss, self.outs[top], T, off, L.n_out, d, s)
        if not combined(loss):
            L.act_backward(d, self.outs[top], L.n_out)
        if lr is not None:
            self.lr[0] = lr
        S = self.S
        G = self.G
        one = self.one
        for l in range(top, -1, -1):
            L = layers[l]
            n_in = L.n_in
            n_out = L.n_out
            x = self.x
            dprev = None
            if l:
                x = self.outs[l - 1]
                dprev = self.deltas[l - 1]
            ex = align(d, n_out, 0, S)
            if ex < 0 or (l and not dense(L.W, S, S, ex, n_out, L.W, L.W, 0, n_in, dprev, 1, n_in)):
                if lr is None:
                    dense_backward_acc(x, L.W, L.GW, L.Gb, L.has_b, n_in, n_out, d, dprev, 1 if l else 0)
                else:
                    dense_backward_sgd(x, L.W, L.b, L.has_b, n_in, n_out, d, dprev, 1 if l else 0, lr)
            elif lr is None:
                fma(L.GW, L.GW, 1, d, x, n_out, n_in, 0, 0)         # GW += delta x
                if L.has_b:
                    fma(L.Gb, L.Gb, 1, one, d, 1, n_out, 0, 0)      # Gb += delta
            else:
                fma(G, G, 0, self.lr, d, 1, n_out, 0, 0)            # g = lr * delta
                fma(L.W, L.W, 1, G, x, n_out, n_in, 0, 1)           # W -= g x
                if L.has_b:
                    fma(L.b, L.b, 1, one, G, 1, n_out, 0, 1)        # b -= g
            if l:
                self.derivative(layers[l - 1].activation, dprev, x, n_in)
                d = dprev
        return value

# Generated from exact.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.exact on firmware without a native emitter.  Do not edit.
