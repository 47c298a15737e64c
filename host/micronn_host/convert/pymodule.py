"""A float model as one standalone MicroPython module: `micronn export -o model.py`.

The module needs no micronn on the board.  It holds:

- the kernels predict() needs, copied out of lib/micronn's source by libsource (so the
  arithmetic is the library's, with the native decorators removed): kernels.dense_forward and
  the layers' activation kernels, data.copy_row (the input check), scale.Scaler.apply when the
  model scales its inputs, meta.Meta.classify when it has class names;
- the weights as bytes literals (float32 or float64, little-endian), which mpy-cross keeps in
  flash when the module is frozen into firmware; they are read in place through uctypes on
  MicroPython and a memoryview on CPython, and copied into arrays only where neither exists
  (the input scaling, two floats an input, is always copied: Scaler.apply takes its len());
- predict(x) (a list of outputs), classify(x) (a class name) when the model has classes, and
  SIZES, ACTIVATIONS, CLASSES, INPUTS, TARGETS.

These are micronn's plain float kernels: on CPython the module gives micronn's outputs bit for
bit.  On a MicroPython board with viper micronn itself predicts through its integer kernels
(micronn.exact, each layer rounded once to float32), so there the two differ by float rounding
(within 1e-5 in the tests).  Nothing is computed at import but the views of the weights and
three short lists; predict() allocates only the floats it computes and the list it returns.
"""
import micronn

from .. import libsource
from .errors import ConvertError

_VIEW = '''
def _view(b, tc, copy=0):
    n = len(b) // (4 if tc == 'f' else 8)
    try:
        import uctypes
    except ImportError:
        uctypes = None
    if uctypes is not None and not copy:
        t = uctypes.FLOAT32 if tc == 'f' else uctypes.FLOAT64
        return uctypes.struct(uctypes.addressof(b), {'v': (uctypes.ARRAY | 0, t | n)}, uctypes.LITTLE_ENDIAN).v
    import sys
    if sys.byteorder == 'little' and not copy:
        try:
            return memoryview(b).cast(tc)
        except AttributeError:
            pass
    import array
    a = array.array(tc, b)
    if sys.byteorder != 'little':
        a.byteswap()
    return a
'''


def _bytes_literal(data, indent="    "):
    """A parenthesised bytes literal in lines of 48 bytes."""
    if not data:
        return "b''"
    lines = [repr(bytes(data[i:i + 48])) for i in range(0, len(data), 48)]
    return "(" + ("\n" + indent).join(lines) + ")"


def _buf(arr):
    import array
    import sys
    a = array.array(arr.typecode, arr)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def to_python(model, path=None, name=None):
    if getattr(model, "dtype", "f") == "b":
        raise ConvertError("export -o FILE.py takes a float model; this one is int8 (export the float "
                           "model it was quantized from, or export it to .onnx)")
    net = model
    tc = net.dtype
    sizes, acts, bias = net.sizes, net.activations, net.bias
    names = ["dense_forward", "copy_row"]
    kern = {}
    for a in dict.fromkeys(acts):
        fwd = micronn.activations.get(a)[0].__name__
        kern[a] = fwd
        names.append(fwd)
    methods = {}
    if net.scaler is not None:
        names.append("Scaler")
        methods["Scaler"] = ("__init__", "apply")
    if net.classes:
        names.append("Meta")
        methods["Meta"] = ("classify", "class_index")
    try:
        kernels = libsource.extract(names, known={"has_b": 1 if bias else 0}, methods=methods)
    except libsource.SourceError as e:
        raise ConvertError("cannot copy the kernels out of lib/micronn: %s" % e)
    name = name or "model"
    out = ['"""%s: a micronn %s network (%s), standalone: no micronn needed.' % (
               name, "-".join(map(str, sizes)), ", ".join(acts)),
           "",
           "predict(x): the %d outputs for one sample of %d numbers%s." % (
               sizes[-1], sizes[0], "; classify(x): its class name" if net.classes else ""),
           "Written by micronn %s `micronn export`; the kernels are lib/micronn's (%s)." % (
               micronn.__version__, ", ".join(names)),
           "Freeze it into a firmware with this line in a manifest.py: module(\"%s.py\")" % name,
           '"""',
           kernels.rstrip("\n"),
           _VIEW.rstrip("\n"),
           "",
           "SIZES = %r" % (tuple(sizes),),
           "ACTIVATIONS = %r" % (tuple(acts),),
           "CLASSES = %r" % (tuple(net.classes) if net.classes else None,),
           "INPUTS = %r" % (tuple(net.inputs) if net.inputs else None,),
           "TARGETS = %r" % (tuple(net.targets) if net.targets else None,),
           "DTYPE = %r" % tc]
    for l, L in enumerate(net.layers):
        out.append("_W%d = _view(%s, %r)" % (l, _bytes_literal(_buf(L.W)), tc))
        if bias:
            out.append("_B%d = _view(%s, %r)" % (l, _bytes_literal(_buf(L.b)), tc))
    if net.scaler is not None:
        sc = net.scaler
        out.append("_scaler = Scaler(%r, _view(%s, 'f', 1), _view(%s, 'f', 1))" % (
            sc.kind, _bytes_literal(_buf(sc.offset)), _bytes_literal(_buf(sc.factor))))
    n_in = sizes[0]
    out.append("_x = [0.0] * %d" % n_in)
    for l in range(len(sizes) - 1):
        out.append("_y%d = [0.0] * %d" % (l, sizes[l + 1]))
    out += ["", "", "def predict(x):",
            "    try:",
            "        n = len(x)",
            "    except TypeError:",
            "        n = -1",
            "    if n != %d or isinstance(x, (str, bytes)):" % n_in,
            "        raise ValueError('sample has %%s values, expected %d (the network has %d inputs)' %% "
            "(n if n >= 0 else repr(x)))" % (n_in, n_in),
            "    copy_row(x, 0, %d, _x, 0, 'input')" % n_in]
    if net.scaler is not None:
        out.append("    _scaler.apply(_x)")
    prev = "_x"
    for l, L in enumerate(net.layers):
        y = "_y%d" % l
        out.append("    dense_forward(%s, _W%d, %s, %d, %d, %d, %s)" % (
            prev, l, "_B%d" % l if bias else "None", 1 if bias else 0, L.n_in, L.n_out, y))
        if L.activation != "linear":
            out.append("    %s(%s, %d)" % (kern[L.activation], y, L.n_out))
        prev = y
    out.append("    return list(%s)" % prev)
    if net.classes:
        out += ["", "", "_meta = Meta()", "_meta.classes = CLASSES", "_meta.predict = predict",
                "classify = _meta.classify"]
    src = "\n".join(out) + "\n"
    if path is not None:
        from ..files import write_atomic
        write_atomic(str(path), src)
    return src
