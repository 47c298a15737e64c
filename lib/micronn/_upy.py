"""CPython stand-ins for MicroPython's code emitters and viper casts.

MicroPython's compiler only recognises the decorators when they are spelled literally
(`@micropython.native`, `@micropython.viper`), so a kernel module does::

    try:
        import micropython
    except ImportError:
        from . import _upy as micropython
        from ._upy import ptr8, ptr16

On MicroPython the decorators compile the function to machine code and the pointer casts are
resolved by the compiler; on CPython they change nothing, so the same source is the reference
implementation.  `ptr8`/`ptr16` return the buffer itself: a bytearray indexes as unsigned bytes
and an array('H') as unsigned 16-bit words, exactly what viper's pointers read.
"""


def native(f):
    return f


viper = native


def const(x):
    return x


def ptr8(buf):
    return buf


ptr16 = ptr32 = ptr8
