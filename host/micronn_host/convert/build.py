"""A micronn.Network from plain layers, the form every importer reduces a model to."""
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

    @property
    def n_out(self):
        return len(self.W)


def network(n_in, layers, scaling=None, classes=None, inputs=None, targets=None, dtype="f"):
    """The micronn.Network of these layers.  scaling: (kind, offsets, factors) applied before the
    first layer; classes: class names (str), one per output, or two for one sigmoid output."""
    if not layers:
        raise ConvertError("the model has no dense layer (micronn needs at least one)")
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
