"""`micronn export`: a micronn model as an ONNX graph, or as a standalone MicroPython module."""
from ..errors import MicronnError
from . import options

HELP = "write a model as ONNX (.onnx) or as a standalone MicroPython module (.py)"
DESCRIPTION = ("Write a micronn model as a standard ONNX graph (opset 17: Gemm layers, the model's input "
               "scaling and softmax, a label output for a classifier; needs pip install 'micronn[onnx]'), "
               "or as one MicroPython module with the weights as bytes literals and predict(x), which "
               "runs without micronn and can be frozen into a firmware (an int8 model keeps its integer "
               "kernel there). An int8 model goes to ONNX as its dequantized float network.")
EXAMPLE = "micronn export model.mnn -o model.onnx"


def arguments(p):
    p.add_argument("file", help="a micronn model (.mnn or JSON)")
    p.add_argument("-o", dest="output_file", required=True,
                   help="file to write: .onnx for ONNX, .py for a MicroPython module")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version (13 or newer; default 17)")


def run(args, out=print):
    import micronn
    dest = args.output_file
    kind = dest.rsplit(".", 1)[-1].lower() if "." in dest else ""
    if kind not in ("onnx", "py"):
        raise MicronnError("%s: the output must end in .onnx (an ONNX graph) or .py (a MicroPython module)" % dest)
    try:
        model = micronn.load(args.file)
    except OSError as e:
        raise MicronnError("%s: %s" % (args.file, e.strerror or e))
    except ValueError as e:
        raise MicronnError(str(e))
    shape = options.shape(model)
    try:
        if kind == "onnx":
            from ..convert import to_onnx
            to_onnx(model, dest, args.opset)
            note = " (int8: its dequantized float network)" if model.dtype == "b" else ""
            out("exported %s (%s%s) to %s, ONNX opset %d" % (args.file, shape, note, dest, args.opset))
        else:
            from pathlib import Path
            from ..convert import to_python
            import keyword
            name = Path(dest).stem
            if not name.isidentifier() or keyword.iskeyword(name):
                raise MicronnError("%s: %r is not a Python module name" % (dest, name))
            src = to_python(model, dest, name)
            out("exported %s (%s) to %s: a standalone module, %d bytes; import %s, then %s.predict(x)"
                % (args.file, shape, dest, len(src), name, name))
    except OSError as e:
        raise MicronnError("%s: %s" % (dest, e.strerror or e))
