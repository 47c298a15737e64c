"""Activation functions by name.

NAMES is also the code table of the .mnn file format: append new names, never reorder.
"""
from . import kernels as _k

NAMES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")


def get(name):
    """(forward, backward) kernels for an activation name; raise ValueError if unknown."""
    if name == "sigmoid":
        return _k.sigmoid, _k.sigmoid_backward
    if name == "tanh":
        return _k.tanh_, _k.tanh_backward
    if name == "relu":
        return _k.relu, _k.relu_backward
    if name == "leaky_relu":
        return _k.leaky_relu, _k.leaky_relu_backward
    if name == "softmax":
        return _k.softmax, _k.softmax_backward
    if name == "linear":
        return _k.linear, _k.linear_backward
    raise ValueError("unknown activation %r; expected one of %s" % (name, ", ".join(NAMES)))


def check(name):
    get(name)
    return name
