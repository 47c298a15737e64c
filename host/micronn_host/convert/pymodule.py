"""A model as one standalone MicroPython module: `micronn export -o model.py`.

The module needs no micronn on the board.  It holds:

- the kernels predict() needs, copied out of lib/micronn's source by libsource (so the
  arithmetic is the library's, with the native decorators removed): kernels.dense_forward and
  the layers' activation kernels, data.copy_row (the input check, into the sample rounded to
  the weights' type) and kernels.load_row, scale.Scaler.apply when the
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

An int8 model's module runs quant.run, micronn's integer kernel, as plain Python (its pointer
casts through _upy's views), with exact.to_f32 and data.copy_row before it and the output
activation after, as QNetwork.predict does: the same bits as micronn everywhere.  Its weight
bytes are a bytes literal read in place; the layer table with the scales, the row constants and
the activation tables are copied into small arrays at import (aligned, and no decimal rounding
of float constants by the port's parser).
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
    if getattr(model, "spec", None):
        raise ConvertError("a model with convolutions (%s) has no standalone module: export it to ONNX, or run "
                           "it with lib/micronn (micronn push)" % "-".join(map(str, model.spec)))
    if getattr(model, "dtype", "f") == "b":
        src = _int8(model, name or "model")
    else:
        src = _float(model, name or "model")
    if path is not None:
        from ..files import write_atomic
        write_atomic(str(path), src)
    return src


def _extract(names, known=None, methods=None):
    try:
        return libsource.extract(names, known=known, methods=methods)
    except libsource.SourceError as e:
        raise ConvertError("cannot copy the kernels out of lib/micronn: %s" % e)


def _head(name, model, names, what):
    return ['"""%s: a micronn %s network (%s), standalone: no micronn needed.' % (
                name, "-".join(map(str, model.sizes)), ", ".join(model.activations)),
            "",
            "predict(x): the %d outputs for one sample of %d numbers%s." % (
                model.sizes[-1], model.sizes[0], "; classify(x): its class name" if model.classes else ""),
            "Written by micronn %s `micronn export`%s; the kernels are lib/micronn's (%s)." % (
                micronn.__version__, what, ", ".join(names)),
            "Freeze it into a firmware with this line in a manifest.py: module(\"%s.py\")" % name,
            '"""']


def _meta_lines(model):
    return ["SIZES = %r" % (tuple(model.sizes),),
            "ACTIVATIONS = %r" % (tuple(model.activations),),
            "CLASSES = %r" % (tuple(model.classes) if model.classes else None,),
            "INPUTS = %r" % (tuple(model.inputs) if model.inputs else None,),
            "TARGETS = %r" % (tuple(model.targets) if model.targets else None,)]


def _check_lines(n_in):
    return ["    try:",
            "        n = len(x)",
            "    except TypeError:",
            "        n = -1",
            "    if n != %d or isinstance(x, (str, bytes)):" % n_in,
            "        raise ValueError('sample has %%s values, expected %d (the network has %d inputs)' %% "
            "(n if n >= 0 else repr(x)))" % (n_in, n_in)]


def _classify_lines(model):
    if not model.classes:
        return []
    return ["", "", "_meta = Meta()", "_meta.classes = CLASSES", "_meta.predict = predict",
            "classify = _meta.classify"]


def _int8(q, name):
    """An int8 model: quant.run, the integer kernel, as plain Python (its pointer casts through
    _upy's views), on the model's buffers; the same bits as micronn's int8 predict()."""
    from micronn import quant
    sizes, acts = q.sizes, q.activations
    names = ["run", "to_f32", "copy_row"]
    out_act = None
    if acts[-1] not in ("sigmoid", "tanh") and acts[-1] != "linear":
        out_act = micronn.activations.get(acts[-1])[0].__name__
        names.append(out_act)
    methods = {}
    if q.scaler is not None:
        names.append("Scaler")
        methods["Scaler"] = ("__init__", "apply")
    if q.classes:
        names.append("Meta")
        methods["Meta"] = ("classify", "class_index")
    kernels = _extract(names, methods=methods)
    kinds = [q.T[l * quant.ROW + quant.KIND] for l in range(len(acts))]
    sig = _buf(quant._lut(quant.KIND_SIGMOID)) if quant.KIND_SIGMOID in kinds else None
    tanh = _buf(quant._lut(quant.KIND_TANH)) if quant.KIND_TANH in kinds else None
    out = _head(name, q, names, " from an int8 model") + [
        "import array", kernels.rstrip("\n"), ""] + _meta_lines(q) + [
        "DTYPE = 'b'",
        "# the model's buffers (micronn.quant): the layer table with the scales after it, and the",
        "# row constants, are copied into arrays (aligned, a few bytes a unit); the weight bytes are",
        "# read where they are",
        "_T = array.array('i', %s)" % _bytes_literal(_buf(q.T) + _buf(q.scales)),
        "_C = array.array('H', %s)" % _bytes_literal(_buf(q.C)),
        "_W = %s" % _bytes_literal(bytes(q.W), ""),
        "_SIG = %s" % ("array.array('H', %s)" % _bytes_literal(sig) if sig else "_C"),
        "_TANH = %s" % ("array.array('H', %s)" % _bytes_literal(tanh) if tanh else "_C")]
    if q.scaler is not None:
        sc = q.scaler
        out.append("_scaler = Scaler(%r, array.array('f', %s), array.array('f', %s))" % (
            sc.kind, _bytes_literal(_buf(sc.offset)), _bytes_literal(_buf(sc.factor))))
    n_in, n_out, width = sizes[0], sizes[-1], max(sizes)
    out += ["_x = [0.0] * %d" % n_in,
            "_F = array.array('f', bytearray(%d))" % (4 * (n_in + 1)),
            "_A = bytearray(%d)" % width,
            "_B = bytearray(%d)" % width,
            "_ACC = array.array('i', bytearray(%d))" % (4 * n_out),
            "_out = [0.0] * %d" % n_out,
            "", "", "def predict(x):"] + _check_lines(n_in) + [
            "    copy_row(x, 0, %d, _x, 0, 'input')" % n_in,
            "    to_f32(_x, _F, %d)" % n_in]
    if q.scaler is not None:
        out.append("    _scaler.apply(_F)")
    out += ["    bad = run(_W, _A, 0, _T, %d, _F, _out, _C, _W)" % len(acts),
            "    if bad:",
            "        raise ValueError('input %d: %r does not fit a float32' % (bad - 1, x[bad - 1]))"]
    if out_act:
        out.append("    %s(_out, %d)" % (out_act, n_out))
    out.append("    return list(_out)")
    return "\n".join(out + _classify_lines(q)) + "\n"


def _float(model, name):
    net = model
    tc = net.dtype
    sizes, acts, bias = net.sizes, net.activations, net.bias
    names = ["dense_forward", "copy_row", "load_row"]
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
    kernels = _extract(names, known={"has_b": 1 if bias else 0}, methods=methods)
    out = _head(name, net, names, "") + ["import array", kernels.rstrip("\n"), _VIEW.rstrip("\n"), ""] + \
        _meta_lines(net) + ["DTYPE = %r" % tc]
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
    out.append("_xd = array.array(%r, bytearray(%d))   # the sample rounded to the weights' type, as micronn does"
               % (tc, n_in * (4 if tc == "f" else 8)))
    for l in range(len(sizes) - 1):
        out.append("_y%d = [0.0] * %d" % (l, sizes[l + 1]))
    out += ["", "", "def predict(x):"] + _check_lines(n_in) + [
            "    copy_row(x, 0, %d, _xd, 0, 'input')" % n_in,
            "    load_row(_xd, 0, _x, %d)" % n_in]
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
    return "\n".join(out + _classify_lines(net)) + "\n"
