"""The activation tables of int8 models (micronn.quant, micronn.qconv): 257 16-bit values of
sigmoid or tanh, made on first use and then shared by every int8 model of the process."""
import array
from math import exp, tanh

SIGMOID, TANH = 3, 4        # the activation kinds of int8 models (quant.KIND_*, qconv.ACT_*)
STEPS = {SIGMOID: 16, TANH: 32}     # table steps per unit of z
_luts = {}


def lut(kind):
    """257 16-bit values at z = (i - 128) / steps: sigmoid as 65535 y, tanh as 32768 + 32767 y."""
    if kind in _luts:
        return _luts[kind]
    steps = STEPS[kind]
    out = array.array("H", bytearray(2 * 257))
    for i in range(257):
        z = (i - 128) / steps
        if kind == SIGMOID:
            y = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
            out[i] = int(65535 * y + 0.5)
        else:
            y = tanh(z)
            out[i] = 32768 + int(32767 * y + (0.5 if y >= 0 else -0.5))
    _luts[kind] = out
    return out
