"""From the command line and a CSV to what a training run needs, for `micronn train` and `fit`:
the job, the training and hold-out rows, and what the model will carry (class names, column
names).  Everything here runs on this computer before a port is opened or a model file is
touched, so a mistake costs nothing."""
from micronn.classes import split

from .. import dataset
from . import options
from ..errors import DataError, MicronnError


class Described:
    """A model as its description says (sizes, activations, bias, classes, inputs, targets,
    summary, scaling): what a board reports of a model it holds, for choosing columns."""

    def __init__(self, info):
        self.sizes = info["layers"]
        self.spec = info.get("spec")
        self.activations = info.get("activations")
        self.bias = info.get("bias", True)
        self.dtype = info.get("dtype", "f")
        self.classes = info.get("classes")
        self.inputs = info.get("inputs")
        self.targets = info.get("targets")
        self.summary = info.get("summary")
        self.scaling = info.get("scaling")


class Prepared:
    """job (micronn.job), X, Y (training rows), Xv, Yv (hold-out rows or None), meta (what the
    model is to carry), data (dataset.Data), lines (what to tell the user)."""

    def __init__(self, job, data, X, Y, Xv, Yv, meta, lines):
        self.job, self.data, self.X, self.Y, self.Xv, self.Yv = job, data, X, Y, Xv, Yv
        self.meta, self.lines = meta, lines


def layers(given, n_in, n_out, table, outputs, plain):
    """The full layer sizes from --layers: all of them when the list starts with the data's inputs
    and ends with its outputs; the hidden layers only when it does neither (a list with one end
    the data's and the other not is refused: a full list with a wrong size, most likely).
    plain (a numeric CSV whose last --outputs columns are the targets, as before there were
    class names): a list of two or more sizes is all of them and checked against the data.
    Layer specs with convolutions start with the input's LENGTHxCHANNELS, whose product must be
    the data's inputs; they end with the outputs when their last entry is the data's number of
    outputs, else the outputs are added."""
    from micronn.layers import Spec, is_spec
    if is_spec(given):
        try:
            spec = Spec(list(given) + ([] if type(given[-1]) is int else [n_out]))
        except ValueError as e:
            raise DataError("--layers %s: %s" % (",".join(map(str, given)), e))
        if spec.widths[0] != n_in:
            raise DataError("--layers %s: %s is %d values per row, but %s has %d input columns"
                            % (",".join(map(str, given)), given[0], spec.widths[0], table.path, n_in))
        if given[-1] == n_out and len(given) > 2:
            return list(given)
        return list(given) + [n_out]
    if len(given) >= 2 and given[0] == n_in and given[-1] == n_out:
        return list(given)
    if plain and len(given) >= 2:
        dataset.check_width(table, given, outputs)
    elif len(given) >= 2 and (given[0] == n_in or given[-1] == n_out):
        # one end is the data's and the other is not: a full list with a wrong size, most likely
        text = ",".join(map(str, given))
        wrong = ("starts with %d, not its %d inputs" % (given[0], n_in) if given[-1] == n_out else
                 "ends with %d, not its %d outputs" % (given[-1], n_out))
        raise DataError("--layers %s: %s has %d inputs and %d outputs, and the list %s; give all the sizes, "
                        "from %d to %d, or only the hidden ones (%s as hidden layers: %d,%s,%d)"
                        % (text, table.path, n_in, n_out, wrong, n_in, n_out, text, n_in, text, n_out))
    return [n_in] + list(given) + [n_out]


def prepare(args, base=None):
    """A Prepared run from the command line's arguments; base: the model to resume (a Network,
    or a Described one on a board), whose columns, classes and shape the data must match."""
    options.check_early(args)
    table = dataset.read_table(args.data)
    data = dataset.select(table, args.target, args.inputs, args.ignore, args.classes, args.outputs, model=base)
    n_in, n_out = len(data.X[0]), len(data.Y[0])
    opts = options.given(args)
    if base is not None:
        _resume_options(opts, base, args)
    else:
        plain = not (args.target or args.inputs or args.ignore or data.classes)
        opts["layers"] = layers(opts["layers"], n_in, n_out, table, args.outputs, plain)
        if data.classes:
            if "output" not in opts and opts.get("loss") in (None, "cce"):
                opts["output"] = "softmax"
                opts.setdefault("loss", "cce")
            if "scale" not in opts and table.header:
                opts["scale"] = "standard"
    job = options.job(args, opts)
    X, Y, Xv, Yv = data.X, data.Y, None, None
    cls = bool(data.classes)
    if args.val_data:
        spec = Described({"layers": job["net"]["layers"], "classes": data.classes, "inputs": data.inputs,
                          "targets": data.targets})
        vdata = dataset.select(dataset.read_table(args.val_data), args.target, args.inputs, args.ignore,
                               args.classes, args.outputs, model=spec)
        Xv, Yv = vdata.X, vdata.Y
    elif job["run"]["val"] is not None:
        seed = job["net"]["seed"] if job["net"]["seed"] is not None else 0
        try:
            tr, va = split(Y, job["run"]["val"], seed, cls, names=data.classes)
        except ValueError as e:
            raise DataError("--%s (%s)" % (str(e), args.data))
        Xv, Yv = [X[i] for i in va], [Y[i] for i in va]
        X, Y = [X[i] for i in tr], [Y[i] for i in tr]
    meta = data.meta() if base is None else {}
    lines = [describe(job, data, len(X), len(Xv) if Xv else 0, base)]
    return Prepared(job, data, X, Y, Xv, Yv, meta, lines)


def _resume_options(opts, base, args):
    """Resuming: the shape, activations and scaling are the model's; the loss the one it was
    trained with unless given."""
    if getattr(base, "dtype", "f") == "b":
        raise MicronnError("--resume: the model is an int8 model, which does not train; resume the float "
                           "model it was made from")
    sizes = list(getattr(base, "spec", None) or base.sizes)
    if "layers" in opts and opts["layers"] not in (sizes, sizes[1:-1]):
        raise MicronnError("--resume: --layers %s, but the model is %s (leave --layers out to continue it)"
                           % (",".join(map(str, opts["layers"])), "-".join(map(str, sizes))))
    for name in ("activation", "output", "init", "scale"):
        if name in opts and name != "scale":
            raise MicronnError("--resume: --%s belongs to a new model; the resumed model keeps its own" % name)
    have = _scaling(base)
    if "scale" in opts and opts["scale"] != (have or "none"):
        if have is None:
            raise MicronnError("--resume --scale %s: the model was trained on unscaled inputs; train a new model "
                               "to scale them" % opts["scale"])
        raise MicronnError("--resume --scale %s: the model scales its inputs (%s), and a resumed model keeps its "
                           "scaling; leave --scale out, or train a new model" % (opts["scale"], have))
    opts.pop("scale", None)
    opts["layers"] = sizes
    acts = list(base.activations)
    hidden = acts[:-1]
    if getattr(base, "spec", None):     # one activation per layer with weights (pooling has none)
        from micronn.layers import Spec
        hidden = Spec(base.spec).check_activations(acts)
    opts["activation"], opts["output"] = (hidden or "sigmoid"), acts[-1]
    opts["bias"] = base.bias
    if "loss" not in opts:
        fit = (base.summary or {}).get("fit") or {}
        opts["loss"] = fit.get("loss") or {"softmax": "cce"}.get(acts[-1], "bce" if base.classes else "mse")


def _scaling(base):
    """The kind of input scaling of the model (a Network, or a Described one on a board), or None."""
    scaler = getattr(base, "scaler", None)
    return scaler.kind if scaler is not None else getattr(base, "scaling", None)


def describe(job, data, n_train, n_val, base):
    net, fit = job["net"], job["fit"]
    acts = net["activation"] if isinstance(net["activation"], str) else ",".join(net["activation"]) or "-"
    line = "%s %s %s-%s, loss %s" % ("continuing" if base is not None else "network",
                                     "-".join(map(str, net["layers"])), acts, net["output"] or acts, fit["loss"])
    if data.classes:
        line += "; %d classes: %s" % (len(data.classes), ", ".join(data.classes))
    if fit["scale"] not in (None, "none"):
        line += "; inputs scaled inside the model (%s)" % fit["scale"]
    line += "; %d training rows" % n_train
    if n_val:
        line += ", %d validation rows" % n_val
    return line
