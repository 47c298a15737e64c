"""Fitted scikit-learn estimators into micronn: convert.from_sklearn.

Read from the estimator's attributes (coefs_, intercepts_, classes_, mean_, scale_, ...), so
scikit-learn itself is not imported here, and no pickle is ever loaded (unpickling runs code):
pass the estimator object from your own session.

- MLPClassifier: softmax outputs, one per class; a binary one has a single sigmoid output
  (as in scikit-learn) and two class names; a multilabel one has sigmoid outputs and no class
  names.  Class labels become strings (str(label)).
- MLPRegressor: linear outputs.
- Pipeline(scaler, mlp): a StandardScaler, or a MinMaxScaler with clip=False, becomes the
  model's input scaling; "passthrough" steps are skipped.
"""
from .build import Layer, network
from .errors import ConvertError

ACT = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "softmax": "softmax"}


def _kind(obj):
    return type(obj).__name__


def from_sklearn(est):
    import numpy as np
    steps = [est]
    if _kind(est) == "Pipeline":
        steps = [s for _, s in est.steps if s is not None and not (isinstance(s, str) and s == "passthrough")]
    if not steps:
        raise ConvertError("the pipeline has no steps")
    mlp, pre = steps[-1], steps[:-1]
    if _kind(mlp) not in ("MLPClassifier", "MLPRegressor"):
        raise ConvertError("%s: micronn converts MLPClassifier and MLPRegressor (after an optional "
                           "StandardScaler or MinMaxScaler)" % _kind(mlp))
    if not hasattr(mlp, "coefs_"):
        raise ConvertError("the %s is not fitted (call fit first)" % _kind(mlp))
    if len(pre) > 1:
        raise ConvertError("pipeline steps %s: micronn takes one scaler before the network"
                           % ", ".join(_kind(s) for s in pre))
    scaling = _scaling(pre[0], mlp.coefs_[0].shape[0]) if pre else None
    if mlp.activation not in ACT:
        raise ConvertError("activation %r: micronn has identity, logistic, tanh and relu" % mlp.activation)
    n = len(mlp.coefs_)
    layers = []
    for l, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        act = ACT[mlp.activation] if l < n - 1 else ACT.get(mlp.out_activation_)
        if act is None:
            raise ConvertError("output activation %r is not one micronn has" % mlp.out_activation_)
        layers.append(Layer(np.asarray(W, dtype=np.float64).T, np.asarray(b, dtype=np.float64), act,
                            "coefs_[%d]" % l))
    classes = None
    if _kind(mlp) == "MLPClassifier":
        kind = getattr(getattr(mlp, "_label_binarizer", None), "y_type_", "multiclass")
        if kind != "multilabel-indicator":
            classes = [str(c) for c in mlp.classes_]
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = getattr(mlp, "feature_names_in_", None)
    return network(int(mlp.coefs_[0].shape[0]), layers, scaling, classes,
                   inputs=None if names is None else [str(v) for v in names])


def _scaling(sc, n):
    import numpy as np
    kind = _kind(sc)
    if kind == "StandardScaler":
        if not hasattr(sc, "n_features_in_"):
            raise ConvertError("the StandardScaler is not fitted")
        # with_mean=False still sets mean_ (with_std=False leaves scale_ None): neither is applied then
        mean = np.zeros(n) if getattr(sc, "mean_", None) is None or not getattr(sc, "with_mean", True) \
            else np.asarray(sc.mean_, dtype=np.float64)
        scale = np.ones(n) if getattr(sc, "scale_", None) is None or not getattr(sc, "with_std", True) \
            else np.asarray(sc.scale_, dtype=np.float64)
        return ("standard", mean, 1.0 / scale)
    if kind == "MinMaxScaler":
        if not hasattr(sc, "scale_"):
            raise ConvertError("the MinMaxScaler is not fitted")
        if getattr(sc, "clip", False):
            raise ConvertError("MinMaxScaler(clip=True): micronn's scaling does not clip")
        scale = np.asarray(sc.scale_, dtype=np.float64)
        if (scale == 0).any():
            raise ConvertError("the MinMaxScaler has a zero scale")
        return ("minmax", -np.asarray(sc.min_, dtype=np.float64) / scale, scale)
    raise ConvertError("%s: micronn's input scaling takes a StandardScaler or a MinMaxScaler" % kind)
