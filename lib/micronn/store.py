"""Saving and loading models: a compact binary .mnn file, and a readable JSON twin.

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
    .       ...       per layer: W as n_out rows of n_in values, then b (n_out values) if biased
    end-4   4         CRC-32 of every byte before it

An int8 model (dtype "b") has the same header; its body is the quantized network's flat
buffers: the layer table (10 int32 per layer), the scales (L + 1 float32), every weight byte,
and each row's 32-bit constant as two uint16 halves (see quant.py).

Loading reads numbers straight into arrays (no file content is ever evaluated), checks every
field and the CRC, and raises ValueError naming the file and the problem; a model is returned
only when all of it checked out.  Saving writes a temporary file and renames it over the old
one, so a reset or a pulled cable never leaves a half-written model under the real name.
"""
import array
import os
import struct
import sys

from . import activations
from .data import ITEMSIZE

MAGIC = b"MNN"
VERSION = 1
_HEAD = 8

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
    if sys.byteorder == "little":
        return buf
    swapped = array.array(buf.typecode, buf)
    swapped.byteswap()
    return swapped


# -- writing -------------------------------------------------------------------------------------

def save(net, path, format="mnn"):
    """Write net to path atomically (temporary file, then rename)."""
    if format not in ("mnn", "json"):
        raise ValueError("unknown model format %r; expected 'mnn' or 'json'" % (format,))
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            if format == "mnn":
                write_mnn(net, f)
            else:
                f.write(dumps_json(net).encode())
            f.flush()
            if hasattr(os, "fsync"):
                os.fsync(f.fileno())
        try:
            getattr(os, "replace", os.rename)(tmp, path)
        except OSError:
            # a filesystem that will not rename onto an existing file: remove it first (a reset
            # in between leaves the complete .tmp, which load() falls back to)
            os.remove(path)
            os.rename(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def header(net):
    L = len(net.sizes) - 1
    return (MAGIC + bytes((VERSION, ord(net.dtype), L, 1 if net.bias else 0, 0))
            + struct.pack("<%dH" % (L + 1), *net.sizes)
            + bytes(activations.NAMES.index(a) for a in net.activations))


def _buffers(net):
    if net.dtype == "b":
        return [net.T, net.scales, net.W, net.C]
    return [p for L in net.layers for p in L.params()]


def write_mnn(net, f):
    head = header(net)
    f.write(head)
    crc = crc32(head)
    for p in _buffers(net):
        p = _little(p) if isinstance(p, array.array) else p
        f.write(p)
        crc = crc32(p, crc)
    f.write(struct.pack("<I", crc))


def dumps_json(net):
    if net.dtype == "b":
        raise ValueError("quantized models are saved as .mnn only")
    import json
    return json.dumps({"format": "micronn", "version": VERSION, "layers": net.sizes,
                       "activations": net.activations, "bias": net.bias, "dtype": net.dtype,
                       "weights": net.get_weights()})


# -- reading -------------------------------------------------------------------------------------

def load(path):
    """Read a model saved by save() (.mnn or JSON, told apart by content).

    On a FAT filesystem MicroPython's rename removes the old file before moving the new one
    into place; if the board lost power in between, only the complete temporary file is left,
    and it is used when it reads back whole (CRC and all).
    """
    try:
        f = open(path, "rb")
    except OSError:
        try:
            with open(path + ".tmp", "rb") as f:
                return read(f, path + ".tmp")
        except (OSError, ValueError):
            pass
        raise
    with f:
        return read(f, path)


def read(f, name="model"):
    """Read a model from an open binary file object; name is used in error messages."""
    head = f.read(_HEAD)
    if head[:1] in (b"{", b" ", b"\n", b"\r", b"\t"):
        return _read_json(head + f.read(), name)
    info, rest, crc = _read_header(f, head, name)
    if info["dtype"] == "b":
        from . import quant
        bufs = quant.buffers(info["layers"])
        sizes = quant.ITEMSIZES
    else:
        from .network import Network
        net = Network(info["layers"], info["activations"][:-1], info["activations"][-1], info["bias"],
                      init=False, dtype=info["dtype"])
        bufs = _buffers(net)
        sizes = [ITEMSIZE[info["dtype"]]] * len(bufs)
    for p, size in zip(bufs, sizes):
        got = f.readinto(p)
        if got != len(p) * size:
            raise ValueError("%s: truncated: the weights stop early (%d bytes of a %d-byte block)"
                             % (name, got or 0, len(p) * size))
        crc = crc32(p, crc)
        if sys.byteorder != "little" and size > 1:
            p.byteswap()
    tail = f.read(4)
    if len(tail) != 4:
        raise ValueError("%s: truncated: the CRC at the end is missing" % name)
    stored = struct.unpack("<I", tail)[0]
    if stored != crc:
        raise ValueError("%s: corrupted: CRC mismatch (the file says %08x, its content gives %08x)"
                         % (name, stored, crc))
    if f.read(1):
        raise ValueError("%s: unexpected data after the end of the model" % name)
    if info["dtype"] == "b":
        try:
            return quant.QNetwork.load(info, *bufs)
        except ValueError as e:
            raise ValueError("%s: %s" % (name, e))
    return net


def describe(f, name="model"):
    """The header of a .mnn file as a dict (layers, activations, bias, dtype, n_params, nbytes)
    without reading the weights: enough to check that a model fits before loading it."""
    info, _, _ = _read_header(f, f.read(_HEAD), name)
    return info


def _read_header(f, head, name):
    if len(head) < 4 or head[:3] != MAGIC:
        raise ValueError("%s: not a micronn model (it starts with %r)" % (name, bytes(head[:8])))
    if head[3] != VERSION:
        raise ValueError("%s: .mnn format version %d; this micronn reads version %d"
                         % (name, head[3], VERSION))
    if len(head) < _HEAD:
        raise ValueError("%s: truncated: the header is %d bytes, expected %d" % (name, len(head), _HEAD))
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
        if code >= len(activations.NAMES):
            raise ValueError("%s: unknown activation code %d (written by a newer micronn?)" % (name, code))
        acts.append(activations.NAMES[code])
    bias = bool(flags & 1)
    from .network import param_count
    n_params = param_count(sizes, bias)
    if dtype == "b":
        from .quant import model_nbytes
        nbytes = model_nbytes(sizes)
    else:
        nbytes = n_params * ITEMSIZE[dtype]
    info = {"layers": sizes, "activations": acts, "bias": bias, "dtype": dtype,
            "n_params": n_params, "nbytes": nbytes}
    return info, rest, crc32(rest, crc32(head))


def _read_json(text, name):
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
    acts = doc["activations"]
    try:
        if not isinstance(acts, list) or len(acts) != len(doc["layers"]) - 1:
            raise ValueError("'activations' must list one name per layer")
        from .network import Network
        net = Network(doc["layers"], acts[:-1], acts[-1], doc["bias"], init=False, dtype=doc["dtype"])
        net.set_weights(doc["weights"])
    except (ValueError, TypeError) as e:
        raise ValueError("%s: %s" % (name, e))
    return net
