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
implementation.  ptr8/ptr16/ptr32 return an unsigned view of the buffer's raw bytes, which is
what viper's pointers load on a 64-bit port (ptr32 zero-extends there; on a 32-bit board the
same load gives a signed machine word, so kernels mask or sign-extend explicitly and never
depend on either).  Stores must be values in the unsigned range of the element.
"""


def native(f):
    return f


viper = native


def const(x):
    return x


def _view(buf, code):
    return memoryview(buf).cast("B").cast(code)


def ptr8(buf):
    return _view(buf, "B")


def ptr16(buf):
    return _view(buf, "H")


def ptr32(buf):
    return _view(buf, "I")
