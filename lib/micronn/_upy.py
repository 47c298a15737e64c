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
implementation.  ptr8/ptr16/ptr32 return an unsigned view of the buffer's raw bytes (a
memoryview on CPython; on MicroPython firmware without a native emitter, which runs the same
kernels as plain bytecode, a uctypes view), which is what viper's pointers load on a 64-bit port (ptr32 zero-extends there; on a 32-bit board the
same load gives a signed machine word, so kernels mask or sign-extend explicitly and never
depend on either).  Stores must be values in the unsigned range of the element.
"""


def native(f):
    return f


viper = native


def const(x):
    return x


def _view(buf, code):
    try:
        return memoryview(buf).cast("B").cast(code)
    except AttributeError:      # MicroPython has no memoryview.cast (firmware without viper)
        pass
    import uctypes              # a view of the same bytes: stores go to buf
    size = {"B": 1, "H": 2, "I": 4}[code]
    kind = {"B": uctypes.UINT8, "H": uctypes.UINT16, "I": uctypes.UINT32}[code]
    n = len(buf) * len(bytes(memoryview(buf)[:1])) // size if len(buf) else 0
    return uctypes.struct(uctypes.addressof(buf), {"v": (uctypes.ARRAY | 0, kind | n)}, uctypes.NATIVE).v


def ptr8(buf):
    return _view(buf, "B")


def ptr16(buf):
    return _view(buf, "H")


def ptr32(buf):
    return _view(buf, "I")
