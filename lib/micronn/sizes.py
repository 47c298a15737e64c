"""How much a model holds: parameter counts, byte sizes and the layout of its buffers.

A low module (it imports nothing of micronn but micronn.shapes, itself a leaf, for layer lists
with convolutions) so that the file format, the networks and a board's memory check all count
the same way without importing one another.  `sizes` below is a list of layer sizes, or a list
of layer specs (micronn.layers: ["50x3", "conv8k5", "maxpool2", 16, 3]).
"""

ITEMSIZE = {"f": 4, "d": 8}
OPTIMIZERS = ("sgd", "momentum", "adam")
# int8 models (quant.py): a table of ROW ints per layer, then these buffers in file order
INT8_ROW = 10


def _spec(sizes):
    """The shapes.Spec of a layer list with specs, else None."""
    for v in sizes:
        if isinstance(v, (str, list, tuple)):
            from .shapes import Spec
            return Spec(sizes)
    return None


def param_count(sizes, bias=True):
    """How many weights (and biases) a network of these layer sizes has."""
    spec = _spec(sizes)
    if spec is not None:
        return spec.param_count(bias)
    return sum(sizes[l] * sizes[l + 1] + (sizes[l + 1] if bias else 0) for l in range(len(sizes) - 1))


def check_optimizer(name):
    if name not in OPTIMIZERS:
        raise ValueError("unknown optimizer %r; expected one of %s" % (name, ", ".join(OPTIMIZERS)))
    return name


def training_nbytes(sizes, bias=True, dtype="f", optimizer="sgd", batch_size=None):
    """Bytes fit() allocates on top of the parameters: gradient sums (none for online SGD, which
    steps inside backpropagation) and optimizer moments.  Lets a board refuse a job before
    allocating anything."""
    per = OPTIMIZERS.index(check_optimizer(optimizer)) + 1
    if optimizer == "sgd" and batch_size == 1:
        per = 0
    n = per * param_count(sizes, bias)
    spec = _spec(sizes)
    if spec is not None:
        n += spec.training_extra(bias, not per)
    return n * ITEMSIZE[dtype]


def layout(sizes, bias, dtype):
    """[(typecode, length)] of a model's buffers in .mnn file order.

    Float models: per layer W (n_out rows of n_in), then b if biased (a convolution: F rows of
    kernel * channels; pooling has none).  int8 models (dtype "b"): the layer table T, the
    scales, all weight bytes, the row constants as uint16 halves (with convolutions:
    micronn.qconv's table).
    """
    spec = _spec(sizes)
    if spec is not None:
        return spec.layout(bias, dtype)
    L = len(sizes) - 1
    if dtype == "b":
        n_w = sum(sizes[l] * sizes[l + 1] for l in range(L))
        return [("i", INT8_ROW * L), ("f", L + 1), ("B", n_w), ("H", 2 * sum(sizes[1:]))]
    out = []
    for l in range(L):
        out.append((dtype, sizes[l] * sizes[l + 1]))
        if bias:
            out.append((dtype, sizes[l + 1]))
    return out


ITEMBYTES = {"i": 4, "f": 4, "d": 8, "B": 1, "H": 2}     # of the typecodes layout() uses


def model_nbytes(sizes, bias, dtype):
    """Bytes of a model's buffers (what its .mnn body holds)."""
    return sum(ITEMBYTES[tc] * n for tc, n in layout(sizes, bias, dtype))
