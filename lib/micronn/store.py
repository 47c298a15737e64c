"""The model file format: a compact binary .mnn file, and a readable JSON twin.

.mnn layout, little-endian throughout:

    offset  size      field
    0       3         magic b"MNN"
    3       1         format version: 1, or 2 when the model has sections (below)
    4       1         dtype: ord("f") float32, ord("d") float64, ord("b") int8 (quant.py)
    5       1         number of layers L (1..255)
    6       1         flags: bit 0 set when the layers have biases
    7       1         version 1: reserved, 0; version 2: the number of sections S
    8       2(L+1)    layer sizes, uint16
    .       L         activation codes (indexes into activations.NAMES)
    .       ...       version 2: S sections, each a 4-byte ASCII tag, a uint32 length and
                      that many bytes
    .       ...       the model's buffers in the order sizes.layout() gives: for a float
                      model, per layer W as n_out rows of n_in values, then b if biased (a
                      convolution: F rows of kernel * channels; pooling: none)
    end-4   4         CRC-32 of every byte before it

Sections carry what a model holds besides its weights (meta.Meta).  A tag in capitals is one a
reader must understand to use the model (it refuses a file with one it does not know); a tag in
lower case may be skipped by a reader that does not know it:

    LAYR    the layer table of a network with convolutions or pooling (shapes.encode): the
            input's length and channels, then per layer its kind, 'same' flag and three
            uint16 (conv: filters, kernel, stride; pooling: size; dense: units).  The header's
            layer sizes are then the flat width of each layer's outputs, and its activation
            codes those of every layer (linear for pooling)
    SCAL    input scaling: 1 byte kind (1 standard, 2 minmax), 3 bytes 0, then n_in float32
            offsets and n_in float32 factors: the first layer sees (x - offset) * factor
    clas    class names, UTF-8, one per line (no newline inside a name)
    inpt    input column names, likewise
    targ    target column names, likewise
    summ    the training summary, a JSON object

A model without any of these is written as version 1, so older readers still read it; a newer
file on an older reader fails with "format version 2; this micronn reads version 1", and a
model with convolutions on a reader without them with "section 'LAYR' is from a newer micronn".
The JSON twin of a model with convolutions has "spec" (the layer specs) and version 3.

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
VERSION = 2         # the newest version this module reads and writes
JSON_VERSION = 3    # the JSON twin's: 3 for a model with convolutions (its "spec")
HEAD = 8
BIG_ENDIAN = sys.byteorder != "little"      # the file is little-endian: such a host swaps bytes
_SCALINGS = ("standard", "minmax")
_NAMES = (("clas", "classes"), ("inpt", "inputs"), ("targ", "targets"))
_WHITE = (b"{", b" ", b"\n", b"\r", b"\t")

try:
    from binascii import crc32 as _crc32
except ImportError:         # some small ports have no binascii
    _crc32 = None


def crc32(data, crc=0):
    """CRC-32 (the zlib polynomial) of a bytes-like object, continuing from crc.

    Without binascii the bytes are taken 16 items at a time: a copy of a whole array would
    need its size again in one piece, which a board with a few KB of heap may not have."""
    if _crc32 is not None:
        return _crc32(data, crc) & 0xFFFFFFFF
    crc ^= 0xFFFFFFFF
    for i in range(0, len(data), 16):
        for byte in bytes(data[i:i + 16]):
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _little(buf):
    """The array as little-endian bytes (a copy only on a big-endian host)."""
    if not BIG_ENDIAN or not isinstance(buf, array.array):
        return buf
    swapped = array.array(buf.typecode, buf)
    swapped.byteswap()
    return swapped


# -- writing -------------------------------------------------------------------------------------

def header(info):
    """The .mnn header (and sections) for a model described by info: layers, activations, bias,
    dtype, and what of meta.META the model has."""
    sizes = info["layers"]
    L = len(sizes) - 1
    sections = _sections(info)
    return (MAGIC + bytes((2 if sections else 1, ord(info["dtype"]), L, 1 if info["bias"] else 0,
                           len(sections)))
            + struct.pack("<%dH" % (L + 1), *sizes)
            + bytes(NAMES.index(a) for a in info["activations"])
            + b"".join(tag + struct.pack("<I", len(body)) + body for tag, body in sections))


def _sections(info):
    out = []
    if info.get("spec") is not None:
        from .shapes import Spec, encode
        out.append((b"LAYR", encode(Spec(info["spec"]))))
    sc = info.get("scaler")
    if sc is not None:
        n = len(sc.offset)
        if n != info["layers"][0]:
            raise ValueError("the scaler has %d inputs, the model %d" % (n, info["layers"][0]))
        out.append((b"SCAL", bytes((_SCALINGS.index(sc.kind) + 1, 0, 0, 0))
                    + bytes(_little(array.array("f", sc.offset))) + bytes(_little(array.array("f", sc.factor)))))
    for tag, key in _NAMES:
        names = info.get(key)
        if names is not None:
            for name in names:
                if not isinstance(name, str) or "\n" in name or not name:
                    raise ValueError("%s: %r is not a name (a non-empty string without newlines)" % (key, name))
            out.append((tag.encode(), "\n".join(names).encode()))
    if info.get("summary") is not None:
        import json
        out.append((b"summ", json.dumps(info["summary"]).encode()))
    if len(out) > 255:
        raise ValueError("too many sections")
    return out


def write(f, head, bufs):
    """Write a whole .mnn file to an open binary file: header, buffers, CRC."""
    f.write(head)
    crc = crc32(head)
    for p in bufs:
        if BIG_ENDIAN:
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
    """The JSON twin of a float model: its description, its meta and get_weights().

    float32 weights (and the scaler's float32 offsets and factors) are written as the shortest
    decimals that read back as the same float32, found with integer arithmetic from their bits
    (a float32 board's own float formatting does not round-trip), so that a file reads back bit
    for bit on every runtime (see parse_json).
    """
    import json
    doc = {"format": "micronn", "version": VERSION if _sections(info) else 1, "layers": info["layers"],
           "activations": info["activations"], "bias": info["bias"], "dtype": info["dtype"]}
    if info.get("spec") is not None:
        doc["version"] = JSON_VERSION
        doc["spec"] = info["spec"]
    f32 = info["dtype"] == "f"
    exact = []                  # (key, value) written by _f32_json after the rest
    sc = info.get("scaler")
    if sc is not None:
        scaler = {"kind": sc.kind}
        if f32:
            exact.append(("scaler", scaler))
        else:
            scaler.update({"offset": list(sc.offset), "factor": list(sc.factor)})
        doc["scaler"] = scaler
    for _, key in _NAMES + ((None, "summary"),):
        if info.get(key) is not None:
            doc[key] = info[key]
    if not f32:
        doc["weights"] = weights
        return json.dumps(doc)
    text = json.dumps(doc)
    if sc is not None:          # the scaler's arrays go in after its kind
        kind = json.dumps({"kind": sc.kind})[:-1]
        at = text.index(kind) + len(kind)
        text = "%s, \"offset\": %s, \"factor\": %s%s" % (text[:at], _f32_json(list(sc.offset)),
                                                           _f32_json(list(sc.factor)), text[at:])
    return text[:-1] + ", \"weights\": " + _f32_json(weights) + "}"


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


def read_header(f, head, name, sections=True):
    """(info, running CRC) from a .mnn file whose first HEAD bytes are head; f is left at the
    first buffer.  info: layers, activations, bias, dtype, n_params, nbytes.  sections=False:
    only the layer table, f left at the sections, which read_sections() reads (so a model's
    buffers can be made before its names and scaling take their places in the heap)."""
    if len(head) < 4 or head[:3] != MAGIC:
        raise ValueError("%s: not a micronn model (it starts with %r)" % (name, bytes(head[:8])))
    if not 1 <= head[3] <= VERSION:
        raise ValueError("%s: .mnn format version %d; this micronn reads versions 1 to %d (a newer "
                         "micronn wrote it)" % (name, head[3], VERSION))
    if len(head) < HEAD:
        raise ValueError("%s: truncated: the header is %d bytes, expected %d" % (name, len(head), HEAD))
    dtype, n, flags = chr(head[4]), head[5], head[6]
    if dtype not in ITEMSIZE and dtype != "b":
        raise ValueError("%s: unknown dtype code %r (expected 'f', 'd' or 'b')" % (name, dtype))
    if n < 1:
        raise ValueError("%s: the model has no layers" % name)
    n_sections = head[7] if head[3] >= 2 else 0
    if flags & ~1 or (head[3] == 1 and head[7]):
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
            "n_params": param_count(sizes, bias), "nbytes": model_nbytes(sizes, bias, dtype),
            "sections": n_sections}
    crc = crc32(rest, crc32(head))
    return info, read_sections(f, info, crc, name) if sections else crc


def read_sections(f, info, crc, name):
    """Read the sections that follow the layer table (read_header(..., sections=False)) into
    info; return the running CRC."""
    for _ in range(info.pop("sections")):
        crc = _read_section(f, info, crc, name)
    _spec_sizes(info)
    return crc


def read_layer_table(f, info, crc, name):
    """Read the layer table (LAYR, always the first section) of a network with convolutions,
    whose buffers depend on it, ahead of the other sections; return the running CRC."""
    if info["sections"]:
        at = f.tell()
        tag = f.read(4)
        f.seek(at)
        if tag == b"LAYR":
            crc = _read_section(f, info, crc, name)
            info["sections"] -= 1
            _spec_sizes(info)
    return crc


def _spec_sizes(info):
    if "spec" in info:
        info["n_params"] = param_count(info["spec"], info["bias"])
        info["nbytes"] = model_nbytes(info["spec"], info["bias"], info["dtype"])


def _read_section(f, info, crc, name):
    """Read one section into info; return the running CRC."""
    top = f.read(8)
    if len(top) != 8:
        raise ValueError("%s: truncated: the header stops inside its sections" % name)
    tag, size = top[:4], struct.unpack("<I", top[4:])[0]
    body = f.read(size)
    if len(body) != size:
        raise ValueError("%s: truncated: section %s stops early" % (name, tag.decode("ascii", "replace")))
    crc = crc32(body, crc32(top, crc))
    text_tags = dict((t.encode(), k) for t, k in _NAMES)
    n_in = info["layers"][0]
    if tag == b"LAYR":
        from .shapes import read_table
        try:
            info["spec"] = read_table(body, info["layers"])
        except ValueError as e:
            raise ValueError("%s: %s" % (name, e))
    elif tag == b"SCAL":
        if size != 4 + 8 * n_in or not 1 <= body[0] <= len(_SCALINGS):
            raise ValueError("%s: corrupted: the input scaling does not fit %d inputs" % (name, n_in))
        offset = array.array("f", body[4:4 + 4 * n_in])
        factor = array.array("f", body[4 + 4 * n_in:])
        if sys.byteorder != "little":
            offset.byteswap()
            factor.byteswap()
        info["scaling"] = (_SCALINGS[body[0] - 1], offset, factor)
    elif tag in text_tags:
        try:
            info[text_tags[tag]] = bytes(body).decode().split("\n")
        except UnicodeError:
            raise ValueError("%s: corrupted: %s is not UTF-8" % (name, text_tags[tag]))
    elif tag == b"summ":
        try:
            import json
            info["summary"] = json.loads(bytes(body))
        except ImportError:     # a port without json: the summary is only for people
            pass
        except ValueError:
            raise ValueError("%s: corrupted: the training summary is not JSON" % name)
    elif 65 <= tag[0] <= 90:    # a capital: the model cannot be used without understanding it
        raise ValueError("%s: section %r is from a newer micronn; this one cannot use the model"
                         % (name, tag.decode("ascii", "replace")))
    return crc


def describe(f, name="model"):
    """The header of a .mnn file as a dict (layers, activations, bias, dtype, n_params, nbytes)
    without reading the weights: enough to check that a model fits before loading it."""
    return read_header(f, f.read(HEAD), name)[0]


def read_weights(f, bufs, crc):
    """Fill bufs from f in turn with the file's bytes as they are (little-endian), then read the
    CRC after them: (bytes read into bufs, their CRC continued from crc, the CRC the file
    gives or -1 when it ends first)."""
    got = 0
    for p in bufs:
        got += f.readinto(p)
        crc = crc32(p, crc)
    tail = f.read(4)
    return got, crc, struct.unpack("<I", tail)[0] if len(tail) == 4 else -1


def check(f, name="model"):
    """Read a .mnn file through without keeping its weights (a board checks a model it could
    not hold): (info, state, message).  info is describe()'s, plus "file_size", the size the
    file should have ({} when the file stops inside its header); state is "ok", "truncated" or
    "CRC mismatch", with message saying more (None when ok).  A file that is not a whole
    readable .mnn in any other way (not a model, another version, data after the end) raises
    ValueError, as read() does."""
    head = f.read(HEAD)
    try:
        info, crc = read_header(f, head, name)
    except ValueError as e:
        if ": truncated:" in str(e):
            return {}, "truncated", str(e)
        if head[:3] == MAGIC and not _crc_holds(f):     # a model whose bytes changed (in a section)
            why = str(e)
            return {}, "CRC mismatch", "%s: corrupted: CRC mismatch (%s)" % (
                name, why[len(name) + 2:] if why.startswith(name + ": ") else why)
        raise
    info["file_size"] = f.tell() + info["nbytes"] + 4
    left = info["nbytes"]
    while left:
        b = f.read(min(256, left))
        if not b:
            return info, "truncated", ("%s: truncated: the weights stop early (%d of %d bytes)"
                                       % (name, info["nbytes"] - left, info["nbytes"]))
        crc = crc32(b, crc)
        left -= len(b)
    tail = f.read(4)
    if len(tail) != 4:
        return info, "truncated", "%s: truncated: the CRC at the end is missing" % name
    stored = struct.unpack("<I", tail)[0]
    if stored != crc:
        return info, "CRC mismatch", ("%s: corrupted: CRC mismatch (the file says %08x, its content "
                                      "gives %08x)" % (name, stored, crc))
    if f.read(1):
        raise ValueError("%s: unexpected data after the end of the model" % name)
    return info, "ok", None


def _crc_holds(f):
    """Whether the CRC-32 at the end of the file f is that of the bytes before it."""
    f.seek(0)
    crc, last = 0, b""
    while True:
        b = f.read(256)
        if not b:
            break
        b = last + b
        crc, last = crc32(b[:-4], crc), b[-4:]
    return len(last) == 4 and struct.unpack("<I", last)[0] == crc


def read_body(f, info, bufs, crc, name):
    """Fill the model's buffers (in file order, as sizes.layout(info) lists them) from f, then
    check the CRC and the end of the file."""
    got, crc, stored = read_weights(f, bufs, crc)
    if got != info["nbytes"]:
        raise ValueError("%s: truncated: the weights stop early (%d of their %d bytes)"
                         % (name, got, info["nbytes"]))
    if BIG_ENDIAN:
        for p, (tc, n) in zip(bufs, layout(info.get("spec") or info["layers"], info["bias"], info["dtype"])):
            if ITEMBYTES[tc] > 1 and isinstance(p, array.array):
                p.byteswap()    # (a model reading into raw bytes orders them itself)
    if stored < 0:
        raise ValueError("%s: truncated: the CRC at the end is missing" % name)
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
    if doc.get("version") not in (1, VERSION, JSON_VERSION):
        raise ValueError("%s: JSON model version %r; this micronn reads versions 1 to %d (a newer "
                         "micronn wrote it)" % (name, doc.get("version"), JSON_VERSION))
    for key in ("layers", "activations", "bias", "dtype", "weights"):
        if key not in doc:
            raise ValueError("%s: the JSON model has no %r" % (name, key))
    if doc["dtype"] not in ITEMSIZE:
        raise ValueError("%s: JSON models hold float weights ('f' or 'd'), not dtype %r" % (name, doc["dtype"]))
    acts = doc["activations"]
    if not isinstance(acts, list) or not isinstance(doc["layers"], list) or len(acts) != len(doc["layers"]) - 1:
        raise ValueError("%s: 'activations' must list one name per layer" % name)
    if doc.get("spec") is not None:
        from .layers import check_widths
        try:
            check_widths(doc["spec"], doc["layers"])
        except ValueError as e:
            raise ValueError("%s: %s" % (name, e))
    f32 = doc["dtype"] == "f"
    sc = doc.pop("scaler", None)
    if sc is not None:
        try:
            if f32:
                _exact_f32(text, "offset", sc["offset"])
                _exact_f32(text, "factor", sc["factor"])
            kind, offset, factor = sc["kind"], array.array("f", sc["offset"]), array.array("f", sc["factor"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("%s: 'scaler' must have a kind and lists of numbers 'offset' and 'factor'" % name)
        if kind not in _SCALINGS or len(offset) != doc["layers"][0] or len(factor) != len(offset):
            raise ValueError("%s: 'scaler' must be standard or minmax with one offset and factor per input" % name)
        doc["scaling"] = (kind, offset, factor)
    for _, key in _NAMES:
        names = doc.get(key)
        if names is not None and (not isinstance(names, list) or not all(isinstance(v, str) for v in names)):
            raise ValueError("%s: %r must be a list of names" % (name, key))
    if f32:
        _exact_f32(text, "weights", doc["weights"])
    return doc, doc["weights"]


def _exact_f32(text, key, values):
    """Put the float32 value each number in the text's list `key` stands for (f32_bits) in place
    of what json.loads made of it in values (a float32 board rounds it more than once)."""
    if not isinstance(values, list):
        return
    if not isinstance(text, str):
        text = str(text, "utf-8")
    quoted = '"%s"' % key
    at = text.find(quoted)
    while at >= 0:                      # the key (followed by a colon), not a string value
        i = at + len(quoted)
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i < len(text) and text[i] == ":":
            break
        at = text.find(quoted, i)
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
    _numbers(values, leaves)
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
