# Freezing micronn into a MicroPython firmware (the micropython-lib manifest format).  In the
# board's manifest.py:
#
#     include("/path/to/micronn/manifest.py")
#
# lib/micronn is then frozen as the package `micronn`: its bytecode (and the viper kernels'
# machine code for the port's architecture) stays in flash and `import micronn` costs no
# compiling.  docs/interop.md has the steps.
metadata(description="Small neural networks in plain Python for MicroPython boards", version="0.1.0",
         license="MIT")
package("micronn", base_path="lib")
