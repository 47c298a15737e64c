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

from .kernels import dense_forward, load_row

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



def dense(S, ex: int, n_in: int, W, B, has_b: int, n_out: int, OUT) -> int:
    """OUT[j] = float32(B[j] + sum_i x[i] * W[j*n_in + i]) for inputs aligned by align() (with
    one=has_b) into S.  B must be an array even without biases (pass W).  Returns 1, or 0 when
    a row holds an inf or nan."""
    s = ptr32(S)
    w = ptr32(W)
    bb = ptr32(B)
    o = ptr32(OUT)
    base = 0
    for j in range(n_out):
        # this row's scale: its largest exponent, bias included
        ew = 0
        if has_b:
            ew = (bb[j] >> 23) & 0xFF
        for k in range(base, base + n_in):
            e = (w[k] >> 23) & 0xFF
            if e > ew:
                ew = e
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
        n = n_in + has_b
        p = w                       # reading weights; the bias comes last, from bb
        k = base
        i = 0
        while i < n:
            stop = i + 32
            if stop > n:
                stop = n
            while i < stop:
                if i == n_in:       # the bias, times the constant input 1.0 at S[2*n_in]
                    p = bb
                    k = j
                b = p[k]
                e = (b >> 23) & 0xFF
                if e > lim:
                    m = (((((b & 0x7FFFFF) | 0x800000) << 1) >> (ew - e)) + 1) >> 1
                    if (b >> 31) & 1:
                        m = 0 - m
                    wh = m >> 12
                    wl = m & 0xFFF
                    xh = s[2 * i] - 0x4000
                    xl = s[2 * i + 1]
                    hh += wh * xh
                    mid += wh * xl + wl * xh
                    ll += wl * xl
                i += 1
                k += 1
            mid += ll >> 12
            ll &= 0xFFF
            hh += mid >> 12
            mid &= 0xFFF
            hi += hh >> 24
            hh &= 0xFFFFFF
        base += n_in
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



def to_f32(src, dst, n: int):
    """dst[i] = src[i] for a list (or array) of floats src and an array('f') dst."""
    for i in range(n):
        dst[i] = src[i]


class Forward:
    """The buffers to run a float32 network's forward pass through align() and dense().

    Each layer's outputs go into an array('f') (4 bytes a unit); training also copies them into
    the layers' output lists, which backpropagation reads.  A layer whose input or weights hold
    an inf or nan runs the float kernel instead.
    """

    def __init__(self, layers):
        n = max(L.n_in for L in layers)
        self.S = array.array("i", bytearray(8 * (n + 1)))
        self.x = array.array("f", bytearray(4 * layers[0].n_in))
        self.outs = [array.array("f", bytearray(4 * L.n_out)) for L in layers]

    def run(self, layers, x, train):
        buf = self.x
        to_f32(x, buf, len(buf))
        S = self.S
        for L, out in zip(layers, self.outs):
            n_in, n_out = L.n_in, L.n_out
            ex = align(buf, n_in, L.has_b, S)
            if ex < 0 or not dense(S, ex, n_in, L.W, L.W if L.b is None else L.b, L.has_b, n_out, out):
                dense_forward(buf, L.W, L.b, L.has_b, n_in, n_out, out)
            L.act_forward(out, n_out)
            if train:
                load_row(out, 0, L.outputs(), n_out)
            buf = out
        return buf

# Generated from exact.py by tools/plain_twins.py (the same source, native decorators removed):
# micronn imports it as micronn.exact on firmware without a native emitter.  Do not edit.
