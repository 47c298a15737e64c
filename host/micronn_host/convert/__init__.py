"""Models in and out of micronn: ONNX graphs, scikit-learn estimators, standalone modules.

    from micronn_host.convert import from_onnx, from_sklearn, to_onnx, to_python

    net = from_onnx("model.onnx")           # a micronn.Network (PyTorch, Keras/TF, skl2onnx graphs)
    net = from_sklearn(pipeline)            # MLPClassifier / MLPRegressor, optionally after a scaler
    to_onnx(net, "model.onnx")              # a standard ONNX graph (opset 17) onnxruntime runs
    to_python(net, "model.py")              # a MicroPython module with predict(), no micronn needed

The arrows point one way: commands -> convert -> lib/micronn.  ONNX needs the `onnx` package
(`pip install micronn[onnx]`); scikit-learn estimators are read from their attributes, so
from_sklearn needs nothing beyond the estimator itself.  No pickle is ever loaded: it runs
code.  Every refusal is a ConvertError with a one-line message.
"""
from .errors import ConvertError


def from_onnx(path):
    """A micronn.Network from an ONNX file (or an onnx.ModelProto)."""
    from .onnx_in import from_onnx
    return from_onnx(path)


def to_onnx(model, path=None, opset=17):
    """The ONNX graph (onnx.ModelProto) of a micronn model; written atomically to path if given.
    An int8 model is exported as its dequantized float network (convert.int8.dequantize)."""
    from .onnx_out import to_onnx
    return to_onnx(model, path, opset)


def from_sklearn(estimator):
    """A micronn.Network from a fitted MLPClassifier or MLPRegressor, or a Pipeline of a
    StandardScaler (or MinMaxScaler) and one of them."""
    from .sklearn import from_sklearn
    return from_sklearn(estimator)


def to_python(model, path=None, name=None):
    """The source of a standalone MicroPython module that predicts like the model (str);
    written atomically to path if given."""
    from .pymodule import to_python
    return to_python(model, path, name)


__all__ = ["ConvertError", "from_onnx", "to_onnx", "from_sklearn", "to_python"]
