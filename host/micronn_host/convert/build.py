"""A micronn.Network from plain layers, the form every importer reduces a model to: dense layers,
and before them 1-D convolutions and pooling over windows of (length, channels)."""
import array

import micronn
from micronn.scale import Scaler

from .errors import ConvertError


class Layer:
    """One dense layer: W has one row per output (n_out x n_in, like micronn's flat W), b one
    value per output or None; act is a micronn activation name; where names the layer's node
    (or estimator attribute) for error messages."""

    def __init__(self, W, b, act=None, where=""):
        self.W, self.b, self.act, self.where = W, b, act, where

    kind = "dense"

    @property
    def n_out(self):
        return len(self.W)


class Conv:
    """A 1-D convolution: W as ONNX holds it, [filters, channels, kernel]; b per filter or None;
    stride; same: micronn's 'same' padding (else 'valid')."""
    kind = "conv"

    def __init__(self, W, b, stride, same, act=None, where=""):
        self.W, self.b, self.stride, self.same, self.act, self.where = W, b, stride, same, act, where

    def spec(self):
        F, C, K = self.W.shape
        return "conv%dk%ds%d%s" % (F, K, self.stride, "same" if self.same else "")


class Pool:
    """Pooling: "maxpool" or "avgpool" of size readings (stride size), or "gap"."""
    W = b = None
    act = None

    def __init__(self, kind, size=None, where=""):
        self.kind, self.size, self.where = kind, size, where

    def spec(self):
        return "gap" if self.kind == "gap" else "%s%d" % (self.kind, self.size)


def network(n_in, layers, scaling=None, classes=None, inputs=None, targets=None, dtype="f", shape=None):
    """The micronn.Network of these layers.  scaling: (kind, offsets, factors) applied before the
    first layer; classes: class names (str), one per output, or two for one sigmoid output;
    shape: the input's (length, channels) when convolutions or pooling come first (their dense
    layers then read the flat, channel-last rows)."""
    if not [L for L in layers if L.kind == "dense"]:
        raise ConvertError("the model has no dense layer (micronn needs at least one)")
    if layers[-1].kind != "dense":
        raise ConvertError("%s: the model ends with %s; micronn's last layer is dense" % (layers[-1].where,
                                                                                            layers[-1].kind))
    if shape is not None:
        return _conv_network(shape, layers, scaling, classes, inputs, targets, dtype)
    acts = [L.act or "linear" for L in layers]
    for L in layers[:-1]:
        if L.act == "softmax":
            raise ConvertError("%s: softmax before another layer; micronn has softmax only as the "
                               "output activation" % L.where)
    if acts[-1] == "softmax" and layers[-1].n_out < 2:
        raise ConvertError("%s: softmax over a single output" % layers[-1].where)
    bias = any(L.b is not None for L in layers)
    sizes = [n_in] + [L.n_out for L in layers]
    for s in sizes:
        if not 1 <= s <= 65535:
            raise ConvertError("a layer of %d units; micronn layers have 1 to 65535" % s)
    try:
        net = micronn.Network(sizes, activation=acts[:-1], output=acts[-1], bias=bias, init=False,
                              dtype=dtype)
        weights = []
        for L in layers:
            W = [[float(v) for v in col] for col in zip(*L.W)]          # [n_in][n_out]
            b = None
            if bias:
                b = [0.0] * L.n_out if L.b is None else [float(v) for v in L.b]
            weights.append([W, b])
        net.set_weights(weights)
    except ValueError as e:
        raise ConvertError(str(e))
    return _meta(net, scaling, classes, inputs, targets)


def _meta(net, scaling, classes, inputs, targets):
    n_in, sizes = net.sizes[0], net.sizes
    if scaling is not None:
        kind, offset, factor = scaling
        if len(offset) != n_in or len(factor) != n_in:
            raise ConvertError("the input scaling has %d values for %d inputs" % (len(offset), n_in))
        for v in list(offset) + list(factor):
            if not -3.4e38 < float(v) < 3.4e38:
                raise ConvertError("the input scaling holds %r, which is not a finite float32" % (v,))
        net.scaler = Scaler(kind, array.array("f", [float(v) for v in offset]),
                            array.array("f", [float(v) for v in factor]))
    if classes is not None:
        classes = [str(c) for c in classes]
        want = 2 if sizes[-1] == 1 else sizes[-1]
        if len(classes) != want:
            raise ConvertError("%d class labels for %d outputs" % (len(classes), sizes[-1]))
        for c in classes:
            if not c or "\n" in c:
                raise ConvertError("class label %r: micronn class names are non-empty and one line" % c)
        net.classes = classes
    if inputs is not None and len(inputs) == n_in:
        net.inputs = [str(v) for v in inputs]
    if targets is not None and len(targets) == sizes[-1]:
        net.targets = [str(v) for v in targets]
    return net


def _conv_network(shape, layers, scaling, classes, inputs, targets, dtype):
    """A network with convolutions: its specs from the layers, its weights in micronn's shapes."""
    import numpy as np
    specs = ["%dx%d" % tuple(shape)]
    for L in layers:
        specs.append(L.n_out if L.kind == "dense" else L.spec())
    weighted = [L for L in layers if L.kind in ("dense", "conv")]
    for L in weighted[:-1]:
        if L.act == "softmax":
            raise ConvertError("%s: softmax before another layer; micronn has softmax only as the output "
                               "activation" % L.where)
    for L in layers:
        if L.kind not in ("dense", "conv") and L.act not in (None, "linear"):
            raise ConvertError("%s: an activation after pooling; micronn activates convolutions and dense "
                               "layers only" % L.where)
    acts = [L.act or "linear" for L in weighted]
    bias = any(L.b is not None for L in weighted)
    try:
        net = micronn.Network(specs, activation=acts[:-1], output=acts[-1], bias=bias, init=False, dtype=dtype)
        weights = []
        for L in layers:
            if L.kind == "dense":
                W = [[float(v) for v in col] for col in zip(*L.W)]
                n = len(L.W)
            elif L.kind == "conv":
                W = np.asarray(L.W, dtype=np.float64).transpose(2, 1, 0).tolist()      # [K][C][F]
                n = L.W.shape[0]
            else:
                weights.append(None)
                continue
            b = None
            if bias:
                b = [0.0] * n if L.b is None else [float(v) for v in L.b]
            weights.append([W, b])
        net.set_weights(weights)
    except ValueError as e:
        raise ConvertError(str(e))
    return _meta(net, scaling, classes, inputs, targets)
