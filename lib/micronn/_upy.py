"""CPython stand-ins for MicroPython's code emitters and viper casts.

MicroPython's compiler only recognises the decorators when they are spelled literally
(`@micropython.native`, `@micropython.viper`), so a kernel module does::

    try:
        import micropython
    except ImportError:
        from . import _upy as micropython
    from ._upy import ptr8, ptr16, ptr32    # plain stand-ins; viper compiles its own casts

On MicroPython the decorators compile the function to machine code and the pointer casts are
resolved by the compiler; on CPython (and on firmware without a native emitter, where deploy
strips the decorators) they change nothing, so the same source is the reference
implementation.  ptr8/ptr16/ptr32 give an unsigned view of the buffer's raw bytes, which is
what viper's pointers load on a 64-bit port (ptr32 zero-extends there; on a 32-bit board the
same load gives a signed machine word, so kernels mask or sign-extend explicitly and never
depend on either).  Stores must be values in the unsigned range of the element.

Kernels may also move a pointer, as viper allows: int(p) is its address and ptr8(int(p) + n)
points n bytes further.  Here an address is the buffer's identity shifted up 32 bits plus a
byte offset, and it leads back to the buffer (through ctypes on CPython, else a table of the
buffers pointed into).  Kernels only add whole numbers to addresses and compare addresses into
the same buffer; reads and writes stay bounds-checked.
"""

try:
    from ctypes import cast as _cast, py_object as _pyobject

    def _key(buf):
        return id(buf)

    def _buffer(key):
        return _cast(key, _pyobject).value
except ImportError:             # MicroPython without a native emitter
    _buffers = {}

    def _key(buf):
        _buffers[id(buf)] = buf
        return id(buf)

    def _buffer(key):
        return _buffers[key]


def native(f):
    return f


viper = native


def const(x):
    return x


class _Ptr:
    __slots__ = ("view", "off", "buf", "size")

    def __init__(self, buf, code, size):
        off = 0
        if isinstance(buf, int):
            buf, off = _buffer(buf >> 32), buf & 0xFFFFFFFF
            if off % size:
                raise ValueError("unaligned %d-byte pointer" % size)
        self.buf = buf
        self.size = size
        self.view = memoryview(buf).cast("B").cast(code)
        self.off = off // size

    def __getitem__(self, i):
        return self.view[self.off + i]

    def __setitem__(self, i, v):
        self.view[self.off + i] = v

    def __int__(self):
        return (_key(self.buf) << 32) + self.off * self.size


def ptr8(buf):
    return _Ptr(buf, "B", 1)


def ptr16(buf):
    return _Ptr(buf, "H", 2)


def ptr32(buf):
    return _Ptr(buf, "I", 4)
