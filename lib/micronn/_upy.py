"""CPython stand-ins for MicroPython's code emitters and viper casts.

MicroPython's compiler only recognises the decorators when they are spelled literally
(`@micropython.native`, `@micropython.viper`), so a kernel module does::

    try:
        import micropython
    except ImportError:
        from . import _upy as micropython
    from ._upy import ptr8, ptr16, ptr32    # plain stand-ins; viper compiles its own casts

On MicroPython the decorators compile the function to machine code and the pointer casts are
resolved by the compiler; on CPython they change nothing, so the same source is the reference
implementation (and on MicroPython firmware without a native emitter, which runs the same
kernels as plain bytecode, see micronn._plain).  ptr8/ptr16/ptr32 give an unsigned view of the
buffer's raw bytes, which is what viper's pointers load on a 64-bit port (ptr32 zero-extends
there; on a 32-bit board the same load gives a signed machine word, so kernels mask or
sign-extend explicitly and never depend on either).  Stores must be values in the unsigned
range of the element.

Kernels may also move a pointer, as viper allows: int(p) is its address and ptr8(int(p) + n)
points n bytes further.  So these pointers are at the buffers' real addresses: ctypes arrays on
CPython, uctypes arrays on MicroPython.  As under viper, nothing checks the bounds (the kernels'
tests do); kernels only add whole numbers to addresses and compare addresses into one buffer.
"""


def native(f):
    return f


viper = native


def const(x):
    return x


try:
    import ctypes

    def _pointer(ctype):
        class Ptr(ctype * (1 << 28)):           # an array at an address, element access in C
            def __int__(self):
                return ctypes.addressof(self)

        def ptr(buf):
            if not isinstance(buf, int):
                try:
                    buf = ctypes.addressof((ctypes.c_char * 1).from_buffer(buf))
                except TypeError:               # a read-only buffer (bytes)
                    buf = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
            return Ptr.from_address(buf)
        return ptr

    ptr8 = _pointer(ctypes.c_uint8)
    ptr16 = _pointer(ctypes.c_uint16)
    ptr32 = _pointer(ctypes.c_uint32)
except ImportError:             # MicroPython (firmware without a native emitter)
    import uctypes

    class _Ptr:
        def __init__(self, buf, kind):
            self.at = buf if isinstance(buf, int) else uctypes.addressof(buf)
            self.v = uctypes.struct(self.at, {"v": (uctypes.ARRAY | 0, kind | 0xFFFFFF)}, uctypes.NATIVE).v

        def __getitem__(self, i):
            return self.v[i]

        def __setitem__(self, i, x):
            self.v[i] = x

        def __int__(self):
            return self.at

    def ptr8(buf):
        return _Ptr(buf, uctypes.UINT8)

    def ptr16(buf):
        return _Ptr(buf, uctypes.UINT16)

    def ptr32(buf):
        return _Ptr(buf, uctypes.UINT32)
