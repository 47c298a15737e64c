# Freezing micronn into a MicroPython firmware (the micropython-lib manifest format).  In the
# board's manifest.py:
#
#     include("/path/to/micronn/manifest.py")
#
# lib/micronn is then frozen as the package `micronn`: its bytecode (and the viper kernels'
# machine code for the port's architecture) stays in flash and `import micronn` costs no
# compiling.  For a firmware without a native emitter (mpy-cross refuses viper code for it):
#
#     include("/path/to/micronn/manifest.py", native=False)
#
# which freezes the plain twins (lib/micronn/_plain_*.py) instead of the viper modules; micronn
# imports them under the modules' names.  docs/interop.md has the steps.
import os

options.defaults(native=True)
metadata(description="Small neural networks in plain Python for MicroPython boards", version="0.1.0",
         license="MIT")
_all = sorted(f for f in os.listdir("lib/micronn") if f.endswith(".py"))
_twins = [f for f in _all if f.startswith("_plain_")]
_viper = [f[len("_plain_"):] for f in _twins]
if options.native:
    package("micronn", files=[f for f in _all if f not in _twins], base_path="lib")
else:
    package("micronn", files=[f for f in _all if f not in _viper], base_path="lib")
