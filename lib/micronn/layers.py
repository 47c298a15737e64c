"""Layer specs: networks with 1-D convolutions and pooling, described in a list beside the sizes.

A plain list of sizes, [3, 4, 1], is a dense network as ever.  A list with specs describes a
network over windows of a signal; its rows are flattened channel-last, so a window of `length`
readings of `channels` values is one row of length * channels numbers (reading t, channel c at
t * channels + c):

    ["50x3", "conv8k5", "maxpool2", 16, 3]

    "50x3"          the input: 50 readings of 3 channels (first entry only; or [50, 3])
    "conv8k5"       Conv1D: 8 filters, kernel 5 (readings), stride 1, "valid" padding; options
                    follow the kernel: s<stride> and same|valid, e.g. "conv8k5s2same"
    "maxpool2"      MaxPool1D over 2 readings, stride 2 ("pool2" is the same)
    "avgpool2"      AvgPool1D
    "gap"           GlobalAvgPool1D: the mean of each channel over the window
    16, 3           dense layers (the input flattened first, channel-last); the last is the output
    ":tanh"         after a conv or dense spec: that layer's activation ("conv8k5:tanh")

The builders below write the same strings (conv1d(8, 5, padding="same") is "conv8k5same"), so a
spec list is plain data: a training job carries it to a board as it is, and `--layers` takes it
comma-separated.  Convolutions and pooling come before the dense layers; the last layer is dense.
"same" padding gives ceil(length / stride) outputs, padding (out - 1) * stride + kernel - length
readings of zeros, the smaller half on the left (TensorFlow's and ONNX's SAME_UPPER).

This module has the builders and the command line's form; micronn.shapes reads specs (shapes,
parameter counts, the layout of buffers, the file format's layer table) and micronn.conv has the
layers themselves.
"""
from .shapes import (AVGPOOL, CONV, DENSE, GAP, MAXPOOL, SYNTAX, Spec, _entry, _input, _spell,  # noqa: F401
                     _whole, is_spec, widths)


# -- builders --------------------------------------------------------------------------------------

def input1d(length, channels):
    """The input spec of windows of `length` readings of `channels` values: "50x3"."""
    return "%dx%d" % (_whole(length, "length"), _whole(channels, "channels"))


def conv1d(filters, kernel_size, stride=1, padding="valid", activation=None):
    """A Conv1D spec: "conv8k5", "conv8k5s2same", "conv8k5:relu"."""
    s = "conv%dk%d" % (_whole(filters, "filters"), _whole(kernel_size, "kernel_size"))
    if _whole(stride, "stride") != 1:
        s += "s%d" % stride
    if padding not in ("valid", "same"):
        raise ValueError("padding must be 'valid' or 'same', got %r" % (padding,))
    if padding == "same":
        s += "same"
    return s if activation is None else s + ":" + activation


def max_pool1d(size=2):
    """A MaxPool1D spec (stride = size): "maxpool2"."""
    return "maxpool%d" % _whole(size, "size")


def avg_pool1d(size=2):
    """An AvgPool1D spec (stride = size): "avgpool2"."""
    return "avgpool%d" % _whole(size, "size")


def global_avg_pool1d():
    """The GlobalAvgPool1D spec: "gap"."""
    return "gap"


# -- the command line's form ----------------------------------------------------------------------

def canonical(layers):
    """A layer list as a job keeps it: plain sizes as they are; specs in their canonical spelling,
    with the activations they give.  Each entry is checked on its own (Spec checks the whole)."""
    if not is_spec(layers):
        return list(layers)
    shape = _input(layers[0])
    out = [layers[0] if shape is None else "%dx%d" % shape]
    for k in range(1, len(layers)):
        row, act = _entry(layers[k], k)
        v = _spell(row)
        out.append(v if act is None else "%s:%s" % (v, act))
    return out


def parse(text):
    """A layer list from the command line's "3,4,1" or "50x3,conv8k5,pool2,16,3"."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if part.isdigit():
            out.append(int(part))
        elif part.lower() != "flatten":     # implied before a dense layer
            out.append(part)
    if is_spec(out):
        return canonical(out)
    return out


def check_widths(layers, sizes):
    """ValueError unless the spec list `layers` has layers of these flat sizes (a JSON model)."""
    try:
        widths = Spec(layers).widths
    except (ValueError, TypeError) as e:
        raise ValueError("'spec' is not a list of layer specs (%s)" % e)
    if widths != sizes:
        raise ValueError("'spec' gives layers of %s values, 'layers' %s" % (widths, sizes))


# -- a convolution's weights in get_weights() shapes (conv.Conv1D calls these when asked) -------------

def conv_weights(layer, G, Gb):
    """[W, b] of a conv.Conv1D from its flat arrays G (weights or their gradient) and Gb: W nested
    [K][C][F] (Keras' shape), b a list or None."""
    C, row, F = layer.C, layer.row, layer.F
    W = [[[G[f * row + k * C + c] for f in range(F)] for c in range(C)] for k in range(layer.K)]
    return [W, None if Gb is None else list(Gb)]


def stage_conv(layer, pair, l, dtype, number):
    """(W, b) arrays for a conv.Conv1D from a [W, b] pair shaped as conv_weights() gives it,
    every value checked by number(v, l, where, indexes) (ValueError saying what is wrong)."""
    from .data import length, zeros
    if length(pair) != 2:
        raise ValueError("layer %d: expected a [W, b] pair, got %r" % (l, pair))
    Wn, bn = pair
    K, C, F, row = layer.K, layer.C, layer.F, layer.row
    W = zeros(dtype, F * row)
    if length(Wn) != K:
        raise ValueError("layer %d: W must have %d rows (kernel readings), got %s" % (l, K, _count(Wn)))
    for k in range(K):
        if length(Wn[k]) != C:
            raise ValueError("layer %d: W[%d] must have %d rows (channels), got %s" % (l, k, C, _count(Wn[k])))
        for c in range(C):
            r = Wn[k][c]
            if length(r) != F:
                raise ValueError("layer %d: W[%d][%d] must have %d values (filters), got %s" % (l, k, c, F, _count(r)))
            for f in range(F):
                W[f * row + k * C + c] = number(r[f], l, "W[%d][%d][%d]", (k, c, f))
    if layer.b is None:
        if bn is not None:
            raise ValueError("layer %d: this network has no biases, but b is given" % l)
        return W, None
    if length(bn) != F:
        raise ValueError("layer %d: b must have %d values, got %s" % (l, F, _count(bn)))
    b = zeros(dtype, F)
    for f in range(F):
        b[f] = number(bn[f], l, "b[%d]", (f,))
    return W, b


def _count(v):
    from .data import length
    return "%d items" % length(v) if length(v) >= 0 else repr(v)
