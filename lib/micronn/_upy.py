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
points n bytes further.  On CPython the pointers are ctypes arrays at the buffers' real
addresses (so, as under viper, nothing checks the bounds: the kernels' tests do).  Elsewhere
(MicroPython without a native emitter) an address is the buffer's identity shifted up 32 bits
plus a byte offset, leading back through a table of the buffers pointed into, and every access
is bounds-checked.  Kernels only add whole numbers to addresses and compare addresses into the
same buffer.
"""

def native(f):
    return f


viper = native


def const(x):
    return x


class _Ptr:
    """A bounds-checked pointer: a typed view of a buffer from a byte offset on."""
    __slots__ = ("view", "off", "buf", "size")

    def __init__(self, buf, code, size):
        off = 0
        if isinstance(buf, int):
            buf, off = _buffers[buf >> 32], buf & 0xFFFFFFFF
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
        _buffers[id(self.buf)] = self.buf
        return (id(self.buf) << 32) + self.off * self.size


_buffers = {}                   # the buffers int() gave addresses into


def _emulated(code, size):
    return lambda buf: _Ptr(buf, code, size)


try:
    import ctypes

    def _real(ctype):
        """ptr8/16/32 on CPython: ctypes arrays at real addresses (element access in C)."""
        class Ptr(ctype * (1 << 28)):
            def __int__(self):
                return ctypes.addressof(self)

        def ptr(buf):
            if not isinstance(buf, int):
                try:
                    buf = ctypes.addressof((ctypes.c_char * 1).from_buffer(buf))
                except TypeError:   # read-only bytes
                    buf = ctypes.cast(ctypes.c_char_p(bytes(buf)), ctypes.c_void_p).value
            return Ptr.from_address(buf)
        return ptr

    ptr8 = _real(ctypes.c_uint8)
    ptr16 = _real(ctypes.c_uint16)
    ptr32 = _real(ctypes.c_uint32)
except ImportError:             # MicroPython without a native emitter
    ptr8 = _emulated("B", 1)
    ptr16 = _emulated("H", 2)
    ptr32 = _emulated("I", 4)
