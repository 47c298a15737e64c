"""micronn: small neural networks in plain Python for CPython and MicroPython boards."""
try:
    from . import kernels       # the viper kernels, compiled to machine code on MicroPython
except (SyntaxError, ValueError, ImportError):
    # firmware without a native emitter (or a native .mpy it cannot load): the same kernels as
    # plain bytecode, under the same names (micronn._plain)
    from . import _plain
    _plain.use()
from .network import Network

__version__ = "0.1.0"


def load(path):
    """A model from a .mnn or JSON file: a Network, or a QNetwork for an int8 model (micronn.model)."""
    from .model import load
    return load(path)


def quantize(net, bits=8, X=None):
    """An int8 copy of a float Network for fast inference (see micronn.calibrate, micronn.quant)."""
    from .calibrate import quantize
    return quantize(net, bits, X)


def train(net, X, Y, val=None, patience=None, callback=None, every=1, seed=0, **fit):
    """net.fit() with a hold-out set, early stopping and the best weights kept; returns the
    training summary (see micronn.holdout.train)."""
    from .holdout import train
    return train(net, X, Y, val, patience, callback, every, seed, **fit)
