"""Firmware without a native emitter: lib/micronn's viper modules as plain bytecode.

micronn/__init__.py imports kernels first.  Where the firmware cannot compile viper code
(CircuitPython by default, the WASI port: a SyntaxError, "invalid micropython decorator"),
cannot load a native .mpy (a ValueError), or was frozen without the viper modules (an
ImportError), it calls use(): the twins _plain_<name>.py, the same source with the decorators
removed (tools/plain_twins.py writes them), are imported under the modules' own names, so every
`from . import kernels` or `from .quant import QNetwork` in micronn gets them.  kernels and exact
load at once (network imports both); optim and quant on first use, as on any firmware.  The
pointer casts run through micronn._upy's views and kernels.VIPER is false, so the float forward
pass takes the float kernels.
"""
import sys

NOW = ("kernels", "exact")
LATER = ("optim", "quant")


def load(name):
    """Import the twin of micronn.<name> and make it micronn.<name>."""
    full = "micronn._plain_" + name
    __import__(full)
    mod = sys.modules[full]
    sys.modules["micronn." + name] = mod
    setattr(sys.modules["micronn"], name, mod)
    return mod


class _Later:
    """Stands in sys.modules for a module until something is taken from it."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        return getattr(load(self._name), attr)


def use():
    for name in NOW:
        load(name)
    pkg = sys.modules["micronn"]
    for name in LATER:          # `from .quant import x`, `import micronn.quant` and `micronn.quant.x`
        sys.modules["micronn." + name] = later = _Later(name)
        setattr(pkg, name, later)
