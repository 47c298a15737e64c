"""The model file format: a compact binary .mnn file, and a readable JSON twin.

.mnn layout, little-endian throughout:

    offset  size      field
    0       3         magic b"MNN"
    3       1         format version (1)
    4       1         dtype: ord("f") float32, ord("d") float64, ord("b") int8 (quant.py)
    5       1         number of layers L (1..255)
    6       1         flags: bit 0 set when the layers have biases
    7       1         reserved, 0
    8       2(L+1)    layer sizes, uint16
    .       L         activation codes (indexes into activations.NAMES)
    .       ...       the model's buffers in the order sizes.layout() gives: for a float
                      model, per layer W as n_out rows of n_in values, then b if biased
    end-4   4         CRC-32 of every byte before it

An int8 model (dtype "b") has the same header; its buffers are the quantized network's (see
quant.py): the layer table, the scales, every weight byte, each row's 32-bit constant as two
uint16 halves.

This module knows the format and nothing of networks: a header is made from a model's
description (a dict with layers, activations, bias, dtype) and the body is a list of buffers.
micronn.model builds networks from what is read here.  Reading never evaluates file content,
checks every field and the CRC, and raises ValueError naming the file and the problem.
Saving writes a temporary file and renames it over the old one, so a reset or a pulled cable
never leaves a half-written model under the real name.
"""
import array
import os
import struct
import sys

from .activations import NAMES
from .sizes import ITEMBYTES, ITEMSIZE, layout, model_nbytes, param_count

MAGIC = b"MNN"
VERSION = 1
HEAD = 8
_WHITE = (b"{", b" ", b"\n", b"\r", b"\t")

try:
    from binascii import crc32 as _crc32
except ImportError:         # some small ports have no binascii
    _crc32 = None


def crc32(data, crc=0):
    """CRC-32 (the zlib polynomial) of a bytes-like object, continuing from crc."""
    if _crc32 is not None:
        return _crc32(data, crc) & 0xFFFFFFFF
    crc ^= 0xFFFFFFFF
    for byte in bytes(data):
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _little(buf):
    """The array as little-endian bytes (a copy only on a big-endian host)."""
    if sys.byteorder == "little" or not isinstance(buf, array.array):
        return buf
    swapped = array.array(buf.typecode, buf)
    swapped.byteswap()
    return swapped


# -- writing -------------------------------------------------------------------------------------

def header(info):
    """The .mnn header for a model described by info (layers, activations, bias, dtype)."""
    sizes = info["layers"]
    L = len(sizes) - 1
    return (MAGIC + bytes((VERSION, ord(info["dtype"]), L, 1 if info["bias"] else 0, 0))
            + struct.pack("<%dH" % (L + 1), *sizes)
            + bytes(NAMES.index(a) for a in info["activations"]))


def write(f, head, bufs):
    """Write a whole .mnn file to an open binary file: header, buffers, CRC."""
    f.write(head)
    crc = crc32(head)
    for p in bufs:
        p = _little(p)
        f.write(p)
        crc = crc32(p, crc)
    f.write(struct.pack("<I", crc))


def replace(tmp, path):
    """Rename tmp over path.  A filesystem that will not rename onto an existing file (FAT on
    some ports) gets the old file removed first; a reset in between leaves the complete tmp,
    which load() falls back to."""
    try:
        getattr(os, "replace", os.rename)(tmp, path)
    except OSError:
        os.remove(path)
        os.rename(tmp, path)


def atomic(path, fill):
    """Write a file through fill(f) into path + ".tmp", then rename it over path."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            fill(f)
            f.flush()
            if hasattr(os, "fsync"):
                os.fsync(f.fileno())
        replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def save(path, head, bufs):
    """Write a .mnn file atomically."""
    atomic(path, lambda f: write(f, head, bufs))


def json_text(info, weights):
    """The JSON twin of a float model: its description and get_weights().

    float32 weights are written as the shortest decimals that read back as the same float32,
    found with integer arithmetic from their bits (a float32 board's own float formatting does
    not round-trip), so that a file reads back bit for bit on every runtime (see parse_json).
    """
    import json
    head = json.dumps({"format": "micronn", "version": VERSION, "layers": info["layers"],
                       "activations": info["activations"], "bias": info["bias"], "dtype": info["dtype"]})
    if info["dtype"] != "f":
        return head[:-1] + ", \"weights\": " + json.dumps(weights) + "}"
    return head[:-1] + ", \"weights\": " + _f32_json(weights) + "}"


def _f32_json(v):
    if isinstance(v, list):
        return "[" + ", ".join(_f32_json(x) for x in v) + "]"
    if v is None:
        return "null"
    return f32_text(v)


def f32_text(v):
    """The shortest decimal that reads back (rounded to nearest) as the float32 v."""
    b = struct.unpack("<I", struct.pack("<f", v))[0]
    neg = b >> 31
    e = (b >> 23) & 0xFF
    if e == 255:
        return "NaN" if b & 0x7FFFFF else ("-Infinity" if neg else "Infinity")
    m = b & 0x7FFFFF
    if e:
        m |= 0x800000
    p = max(e, 1) - 150
    if m == 0:
        return "-0.0" if neg else "0.0"
    M, q = (m << p, 0) if p >= 0 else (m * 5 ** -p, p)     # v = M * 10**q exactly
    L = len(str(M))
    best = (M, q)
    for n in range(min(L, 9), 0, -1):   # fewer digits while they still read back as v
        d, r = divmod(M, 10 ** (L - n))
        half = 5 * 10 ** (L - n - 1) if L > n else 1
        if r > half or (r == half and d & 1):
            d += 1
        if f32_bits(neg, d, q + L - n) != b:
            break
        best = (d, q + L - n)
    d, k = best
    digits = str(d)
    point = len(digits) + k             # the decimal point's place after the first digit
    sign = "-" if neg else ""
    if -5 < point <= 16:
        if point <= 0:
            return sign + "0." + "0" * -point + digits.rstrip("0")
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits)) + ".0"
        return sign + digits[:point] + "." + digits[point:].rstrip("0")
    frac = digits[1:].rstrip("0") or "0"
    return "%s%s.%se%d" % (sign, digits[0], frac, point - 1)


def _bitlen(n):
    return len(bin(n)) - 2          # (MicroPython's int has no bit_length)


def f32_bits(neg, d, k):
    """The float32 bits of (-1)**neg * d * 10**k rounded to nearest, ties to even, computed with
    integers (a float32 board's own float parsing is not exact); subnormals included, too large
    gives inf."""
    if d == 0:
        return neg << 31
    num, den = (d * 10 ** k, 1) if k >= 0 else (d, 10 ** -k)
    s = 25 - _bitlen(num) + _bitlen(den)        # q = num * 2**s / den has 25 bits, or 24-26
    while True:
        q, r = divmod(num << s, den) if s >= 0 else divmod(num, den << -s)
        if q >> 25:
            s -= 1
        elif not q >> 24:
            s += 1
        else:
            break
    e = 151 - s                         # q = mantissa * 2 + round bit; value = q * 2**-s
    if e < 1:                           # subnormal: at the fixed scale 2**-150
        s = 150
        q, r = divmod(num << s, den)
        e = 0
    mant = q >> 1
    if q & 1 and (r or mant & 1):     # the round bit, then the rest or an odd mantissa
        mant += 1
        if mant >> 24:
            mant >>= 1
            e += 1
    if e >= 255:
        return (neg << 31) | (0xFF << 23)
    return (neg << 31) | (e << 23) | (mant & 0x7FFFFF) if e else (neg << 31) | mant


def save_json(path, info, weights):
    text = json_text(info, weights).encode()
    atomic(path, lambda f: f.write(text))


# -- reading -------------------------------------------------------------------------------------

def is_json(head):
    """Whether a file that starts with these bytes is a JSON model (else .mnn)."""
    return head[:1] in _WHITE


def read_header(f, head, name):
    """(info, running CRC) from a .mnn file whose first HEAD bytes are head; f is left at the
    first buffer.  info: layers, activations, bias, dtype, n_params, nbytes."""
    if len(head) < 4 or head[:3] != MAGIC:
        raise ValueError("%s: not a micronn model (it starts with %r)" % (name, bytes(head[:8])))
    if head[3] != VERSION:
        raise ValueError("%s: .mnn format version %d; this micronn reads version %d"
                         % (name, head[3], VERSION))
    if len(head) < HEAD:
        raise ValueError("%s: truncated: the header is %d bytes, expected %d" % (name, len(head), HEAD))
    dtype, n, flags = chr(head[4]), head[5], head[6]
    if dtype not in ITEMSIZE and dtype != "b":
        raise ValueError("%s: unknown dtype code %r (expected 'f', 'd' or 'b')" % (name, dtype))
    if n < 1:
        raise ValueError("%s: the model has no layers" % name)
    if flags & ~1 or head[7]:
        raise ValueError("%s: unknown flags %02x %02x (written by a newer micronn?)" % (name, flags, head[7]))
    rest = f.read(2 * (n + 1) + n)
    if len(rest) != 2 * (n + 1) + n:
        raise ValueError("%s: truncated: the header stops inside the layer table" % name)
    sizes = list(struct.unpack("<%dH" % (n + 1), rest[:2 * (n + 1)]))
    if 0 in sizes:
        raise ValueError("%s: a layer of size 0 in %r" % (name, sizes))
    acts = []
    for code in rest[2 * (n + 1):]:
        if code >= len(NAMES):
            raise ValueError("%s: unknown activation code %d (written by a newer micronn?)" % (name, code))
        acts.append(NAMES[code])
    bias = bool(flags & 1)
    info = {"layers": sizes, "activations": acts, "bias": bias, "dtype": dtype,
            "n_params": param_count(sizes, bias), "nbytes": model_nbytes(sizes, bias, dtype)}
    return info, crc32(rest, crc32(head))


def describe(f, name="model"):
    """The header of a .mnn file as a dict (layers, activations, bias, dtype, n_params, nbytes)
    without reading the weights: enough to check that a model fits before loading it."""
    return read_header(f, f.read(HEAD), name)[0]


def read_body(f, info, bufs, crc, name):
    """Fill the model's buffers (in file order, as sizes.layout(info) lists them) from f, then
    check the CRC and the end of the file."""
    for p, (tc, n) in zip(bufs, layout(info["layers"], info["bias"], info["dtype"])):
        size = ITEMBYTES[tc]
        got = f.readinto(p)
        if got != n * size:
            raise ValueError("%s: truncated: the weights stop early (%d bytes of a %d-byte block)"
                             % (name, got or 0, n * size))
        crc = crc32(p, crc)
        if sys.byteorder != "little" and size > 1 and isinstance(p, array.array):
            p.byteswap()        # (a model reading into raw bytes orders them itself)
    tail = f.read(4)
    if len(tail) != 4:
        raise ValueError("%s: truncated: the CRC at the end is missing" % name)
    stored = struct.unpack("<I", tail)[0]
    if stored != crc:
        raise ValueError("%s: corrupted: CRC mismatch (the file says %08x, its content gives %08x)"
                         % (name, stored, crc))
    if f.read(1):
        raise ValueError("%s: unexpected data after the end of the model" % name)


def parse_json(text, name):
    """(info, weights) of a JSON model; ValueError naming the file when it is not one."""
    try:
        import json
    except ImportError:
        raise ValueError("%s: JSON models need the json module, which this port lacks; use .mnn" % name)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ValueError("%s: not valid JSON (%s)" % (name, e))
    if not isinstance(doc, dict) or doc.get("format") != "micronn":
        raise ValueError("%s: JSON, but not a micronn model (no \"format\": \"micronn\")" % name)
    if doc.get("version") != VERSION:
        raise ValueError("%s: JSON model version %r; this micronn reads version %d"
                         % (name, doc.get("version"), VERSION))
    for key in ("layers", "activations", "bias", "dtype", "weights"):
        if key not in doc:
            raise ValueError("%s: the JSON model has no %r" % (name, key))
    if doc["dtype"] not in ITEMSIZE:
        raise ValueError("%s: JSON models hold float weights ('f' or 'd'), not dtype %r" % (name, doc["dtype"]))
    acts = doc["activations"]
    if not isinstance(acts, list) or not isinstance(doc["layers"], list) or len(acts) != len(doc["layers"]) - 1:
        raise ValueError("%s: 'activations' must list one name per layer" % name)
    weights = doc["weights"]
    if doc["dtype"] == "f":
        _exact_f32(text, weights)
    return doc, weights


def _exact_f32(text, weights):
    """Put the float32 value each number in the text's "weights" stands for (f32_bits) in place
    of what json.loads made of it, which a float32 board rounds more than once."""
    if not isinstance(text, str):
        text = str(text, "utf-8")
    at = text.find('"weights"')
    at = text.find("[", at) if at >= 0 else -1
    if at < 0:
        return
    numbers = []
    depth = 0
    i = at
    n = len(text)
    while i < n:
        c = text[i]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                break
        elif c == '"':                  # a string: skip it (a bad file's, set_weights says so)
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c in "-0123456789":
            j = i + 1
            while j < n and text[j] in "0123456789.eE+-":
                j += 1
            numbers.append(text[i:j])
            i = j - 1
        i += 1
    leaves = []
    _numbers(weights, leaves)
    if len(leaves) != len(numbers):
        return                          # not the layout we wrote: keep json's values
    for (lst, k), tok in zip(leaves, numbers):
        neg = tok[0] == "-"
        mant, _, exp = tok.lstrip("-").replace("E", "e").partition("e")
        whole, _, frac = mant.partition(".")
        b = f32_bits(1 if neg else 0, int(whole + frac), int(exp or "0") - len(frac))
        lst[k] = struct.unpack("<f", struct.pack("<I", b))[0]


def _numbers(v, out):
    """(list, index) of every number in nested lists, in the order they are written."""
    for k in range(len(v)):
        x = v[k]
        if isinstance(x, list):
            _numbers(x, out)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out.append((v, k))
