"""`micronn import`: a network trained elsewhere, as an ONNX graph, into a micronn model file."""
from . import options

HELP = "turn an ONNX model (PyTorch, Keras/TF, scikit-learn) into a micronn model file"
DESCRIPTION = ("Read a dense network from an ONNX file, as torch.onnx.export, the Keras/TensorFlow "
               "converters and skl2onnx write them (Gemm or MatMul + Add layers, Relu, LeakyRelu, "
               "Sigmoid, Tanh, Softmax, input scaling, a classifier's class labels), and write it as a "
               "micronn model. Anything micronn cannot run is refused in one line naming the node, and "
               "nothing is written. Needs the onnx package (pip install 'micronn[onnx]').")
EXAMPLE = "micronn import model.onnx -o model.mnn"


def arguments(p):
    p.add_argument("file", help="an ONNX model (.onnx)")
    p.add_argument("-o", dest="output_file", required=True,
                   help="model file to write (.mnn, or .json for the readable form)")


def run(args, out=print):
    from ..convert import from_onnx
    net = from_onnx(args.file)
    options.save_model(net, args.output_file)
    extra = ""
    if net.scaler is not None:
        extra += ", %s input scaling" % net.scaler.kind
    if net.classes:
        extra += ", classes %s" % ", ".join(net.classes)
    out("imported %s: %s (%s, %d parameters%s); saved to %s"
        % (args.file, options.shape(net), ", ".join(net.activations), net.n_params, extra,
           args.output_file))
    if getattr(net, "import_note", None):
        out("note: " + net.import_note)
