"""The one error the converters raise, and finding the optional onnx package."""
from ..errors import MicronnError


class ConvertError(MicronnError):
    """A model that cannot be converted; str() is one line saying what and why."""


def need_onnx():
    """The onnx module, or a ConvertError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise ConvertError("ONNX support needs the onnx package: pip install 'micronn[onnx]' "
                           "(or pip install onnx)")
    return onnx
