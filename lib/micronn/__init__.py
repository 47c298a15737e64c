"""micronn: small neural networks in plain Python for CPython and MicroPython boards."""
from .network import Network
from .model import load

__version__ = "0.1.0"


def quantize(net, bits=8, X=None):
    """An int8 copy of a float Network for fast inference (see micronn.quant)."""
    from .quant import quantize
    return quantize(net, bits, X)
