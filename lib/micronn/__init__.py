"""micronn: small neural networks in plain Python for CPython and MicroPython boards."""
from .network import Network
from .store import load

__version__ = "0.1.0"
