"""ONNX in and out: `micronn import` of graphs as PyTorch, Keras/TF and skl2onnx write them, and
`micronn export` to ONNX, checked against onnxruntime (and scikit-learn) as the reference.

Tolerance: 1e-5 absolute on outputs of order 1 (micronn computes with float32 weights in the
runtime's floats, onnxruntime in float32; the differences measured are below 2e-7)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import need_module  # noqa: E402

onnx = need_module("onnx", "the onnx extra: pip install -e '.[dev,onnx]' (make test does it)")
ort = need_module("onnxruntime", "onnxruntime: pip install -e '.[dev,onnx]'")

import micronn
from boards import cli, one_error_line
from conftest import ROOT
from micronn_host.convert import ConvertError, from_onnx, from_sklearn, to_onnx
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import keras_sequential, torch_sequential, weights

TOL = 1e-5
RNG = np.random.default_rng(42)
X4 = RNG.normal(size=(32, 4)).astype(np.float32)


def ort_run(path, X, name=None):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {name or s.get_inputs()[0].name: X})


def imported(tmp_path, model, name="m"):
    """Save the graph, `micronn import` it; return (path of the graph, the micronn model)."""
    src = tmp_path / (name + ".onnx")
    onnx.save(model, str(src))
    out = tmp_path / (name + ".mnn")
    p = cli("import", src, "-o", out, check=True)
    assert "imported" in p.stdout and str(out) in p.stdout
    return src, micronn.load(str(out))


def close(a, b, tol=TOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.abs(a - b).max()
    assert err <= tol, "largest difference %g > %g" % (err, tol)
    return err


# -- import: PyTorch ------------------------------------------------------------------------------

@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("acts", [["relu", "leaky_relu", "softmax"], ["tanh", "sigmoid", "linear"],
                                  ["sigmoid", "relu", "sigmoid"]], ids="-".join)
def test_pytorch_sequential(tmp_path, dynamo, acts):
    model = torch_sequential([4, 8, 5, 3], acts, seed=1, dynamo=dynamo)
    src, net = imported(tmp_path, model)
    assert net.sizes == [4, 8, 5, 3] and net.activations == acts
    close(net.predict_many(X4.tolist()), ort_run(src, X4)[0])


def test_pytorch_gemm_alpha_beta_and_untransposed_weights(tmp_path):
    model = torch_sequential([4, 6, 2], ["relu", "linear"], seed=2, alpha=0.5, beta=2.0)
    g = model.graph
    gemm = [n for n in g.node if n.op_type == "Gemm"][1]        # its weights stored [in, out]: transB=0
    init = next(i for i in g.initializer if i.name == gemm.input[1])
    W = numpy_helper.to_array(init)
    init.CopyFrom(numpy_helper.from_array(W.T.copy(), init.name))
    for a in gemm.attribute:
        if a.name == "transB":
            a.i = 0
    src, net = imported(tmp_path, model)
    close(net.predict_many(X4.tolist()), ort_run(src, X4)[0])


@pytest.mark.parametrize("batch", ["batch_size", "N", None, 1], ids=["batch_size", "N", "unnamed", "fixed1"])
def test_any_batch_dimension(tmp_path, batch):
    model = torch_sequential([4, 3, 2], ["relu", "softmax"], batch=batch)
    src, net = imported(tmp_path, model)
    close(net.predict_many(X4[:1].tolist()), ort_run(src, X4[:1])[0])


def test_flatten_of_a_multidimensional_input(tmp_path):
    model = torch_sequential([12, 5, 2], ["tanh", "linear"], in_shape=["batch", 3, 4])
    src, net = imported(tmp_path, model)
    X = RNG.normal(size=(7, 3, 4)).astype(np.float32)
    close(net.predict_many(X.reshape(7, 12).tolist()), ort_run(src, X)[0])


# -- import: Keras / TensorFlow -------------------------------------------------------------------

@pytest.mark.parametrize("acts", [["relu", "softmax"], ["leaky_relu", "tanh", "linear"]], ids="-".join)
def test_keras_sequential(tmp_path, acts):
    sizes = [4, 7, 3] if len(acts) == 2 else [4, 6, 5, 2]
    src, net = imported(tmp_path, keras_sequential(sizes, acts, seed=3))
    assert net.activations == acts
    close(net.predict_many(X4.tolist()), ort_run(src, X4)[0])


# -- import: scikit-learn through skl2onnx ---------------------------------------------------------

def _sk_data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, 4)) * [1, 5, 0.1, 2] + [0, 10, -3, 1]).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 10)


def _fit(est, X, y):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # ConvergenceWarning: a few iterations suffice
        return est.fit(X, y)


def sklearn_cases():
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = _sk_data()
    names = np.array(["low", "mid", "high"])
    return {
        "classifier-int-labels": (_fit(MLPClassifier((6,), max_iter=200, random_state=0), X, y), X),
        "binary-str-labels": (_fit(MLPClassifier((5, 4), activation="tanh", max_iter=200, random_state=0),
                                   X, names[(y > 0).astype(int) * 2]), X),
        "pipeline-scaler-classifier": (_fit(make_pipeline(StandardScaler(), MLPClassifier(
            (8,), activation="logistic", max_iter=300, random_state=0)), X, names[y]), X),
        "regressor": (_fit(MLPRegressor(hidden_layer_sizes=(6,), max_iter=200, random_state=0), X, X[:, 0] * 2 + X[:, 2]), X),
        "pipeline-scaler-regressor": (_fit(make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=(5, 3), activation="relu", max_iter=200, random_state=0)), X, X[:, 1]), X),
        # the scaler keeps mean_ but does not subtract it
        "pipeline-scaler-without-mean": (_fit(make_pipeline(StandardScaler(with_mean=False), MLPRegressor(
            hidden_layer_sizes=(5,), max_iter=200, random_state=0)), X, X[:, 1]), X),
        # (skl2onnx reshapes a multi-target regressor's outputs to [-1, 1], which micronn refuses:
        # from_sklearn only)
        "regressor-2-targets": (_fit(MLPRegressor(hidden_layer_sizes=(5, 3), activation="tanh", max_iter=200,
                                                  random_state=0), X, X[:, :2]), X),
    }


@pytest.fixture(scope="module")
def sk_cases():
    need_module("sklearn", "the dev extra: pip install -e '.[dev,onnx]'")
    need_module("skl2onnx", "the dev extra: pip install -e '.[dev,onnx]'")
    return sklearn_cases()


@pytest.mark.parametrize("case", ["classifier-int-labels", "binary-str-labels", "pipeline-scaler-classifier",
                                  "regressor", "pipeline-scaler-regressor", "pipeline-scaler-without-mean"])
def test_skl2onnx_graphs(tmp_path, sk_cases, case):
    """skl2onnx's default outputs (a label and a ZipMap of probabilities); micronn takes the
    probabilities, the class labels and the scaler."""
    from skl2onnx import to_onnx as skl_to_onnx
    est, X = sk_cases[case]
    src, net = imported(tmp_path, skl_to_onnx(est, X[:1]))
    outs = ort_run(src, X)
    mine = np.array(net.predict_many(X.tolist()))
    clf = hasattr(est, "classes_")
    if clf:
        labels, probs = outs[0], outs[1]
        probs = np.array([[d[k] for k in sorted(d, key=list(est.classes_).index)] for d in probs])
        if probs.shape[1] == 2:                     # binary: one sigmoid output, p of the second class
            assert net.sizes[-1] == 1
            close(mine[:, 0], probs[:, 1])
        else:
            close(mine, probs)
        assert net.classes == [str(c) for c in est.classes_]
        assert [net.classify(r) for r in X.tolist()] == [str(v) for v in labels]
        close(mine if probs.shape[1] > 2 else np.c_[1 - mine, mine], est.predict_proba(X))
    else:
        close(mine.reshape(outs[0].shape), outs[0])
        close(mine.reshape(outs[0].shape), est.predict(X).reshape(outs[0].shape))
    assert (net.scaler is not None) == case.startswith("pipeline")


@pytest.mark.parametrize("case", ["classifier-int-labels", "binary-str-labels", "pipeline-scaler-classifier",
                                  "regressor", "pipeline-scaler-regressor", "pipeline-scaler-without-mean",
                                  "regressor-2-targets"])
def test_from_sklearn_equals_sklearn(sk_cases, case):
    """from_sklearn reads the estimator itself (no ONNX, no pickle)."""
    est, X = sk_cases[case]
    net = from_sklearn(est)
    mine = np.array(net.predict_many(X.tolist()))
    if hasattr(est, "classes_"):
        ref = est.predict_proba(X)
        close(mine if ref.shape[1] > 2 else np.c_[1 - mine, mine], ref)
        assert [net.classify(r) for r in X.tolist()] == [str(v) for v in est.predict(X)]
    else:
        close(mine.reshape(-1), est.predict(X).reshape(-1))


def test_imported_model_predicts_the_same_on_micropython(tmp_path, sk_cases, micropython):
    from skl2onnx import to_onnx as skl_to_onnx
    est, X = sk_cases["pipeline-scaler-classifier"]
    src, net = imported(tmp_path, skl_to_onnx(est, X[:1]))
    (tmp_path / "X.json").write_text(json.dumps(X.tolist()))
    got = micropython.run("""
        import json, micronn
        net = micronn.load('m.mnn')
        X = json.load(open('X.json'))
        print(json.dumps([net.predict_many(X), [net.classify(x) for x in X]]))
        """, cwd=str(tmp_path))
    ref = ort_run(src, X)
    probs = np.array([[d[k] for k in est.classes_] for d in ref[1]])
    close(got[0], probs)
    assert got[1] == [str(v) for v in ref[0]]


# -- import: refusals --------------------------------------------------------------------------------

def _edit(model, op, **attrs):
    node = next(n for n in model.graph.node if n.op_type == op)
    for k, v in attrs.items():
        node.attribute.append(helper.make_attribute(k, v))
    return model


def _conv_graph():
    m = torch_sequential([4, 3, 2], ["relu", "linear"], flatten=False, dropout=False)
    g = m.graph
    relu = next(n for n in g.node if n.op_type == "Relu")
    g.node.insert(list(g.node).index(relu) + 1, helper.make_node(
        "Conv", [relu.output[0], "k"], ["conv_out"], name="/conv"))
    g.initializer.append(numpy_helper.from_array(np.ones((3, 3, 1), np.float32), "k"))
    nxt = [n for n in g.node if n.op_type == "Gemm"][1]
    nxt.input[0] = "conv_out"
    return m


def _leaky(alpha):
    m = torch_sequential([4, 3, 2], ["leaky_relu", "linear"])
    node = next(n for n in m.graph.node if n.op_type == "LeakyRelu")
    node.attribute[0].f = alpha
    return m


def _two_inputs():
    m = torch_sequential([4, 3, 2], ["relu", "linear"], flatten=False)
    m.graph.input.append(helper.make_tensor_value_info("other", TensorProto.FLOAT, ["batch", 4]))
    return m


def _hidden_softmax():
    return torch_sequential([4, 3, 2], ["softmax", "linear"])


def _computed_weights():
    m = keras_sequential([4, 3, 2], ["relu", "linear"])
    mm = next(n for n in m.graph.node if n.op_type == "MatMul")
    m.graph.node.insert(0, helper.make_node("Transpose", [mm.input[1]], ["wt"], name="transpose_w"))
    mm.input[1] = "wt"
    return m


def _with_head(sizes, acts, name, value, node):
    """A PyTorch-style graph whose output goes through `node` first, which reads the network's
    output (the input named "p") and the constant `name` (= value)."""
    m = torch_sequential(sizes, acts, flatten=False, dropout=False)
    g = m.graph
    out = next(n for n in g.node if n.op_type == "Identity")
    g.initializer.append(numpy_helper.from_array(value, name))
    node.input[:] = [out.input[0] if i == "p" else i for i in node.input]
    g.node.insert(len(g.node) - 1, node)
    out.input[0] = node.output[0]
    return m


def _sub_head():
    """5 - p as the graph's only output: not skl2onnx's [1 - p, p], so not to be dropped."""
    return _with_head([4, 3, 1], ["relu", "sigmoid"], "five", np.array([5.0], np.float32),
                      helper.make_node("Sub", ["five", "p"], ["five_minus_p"], name="sub5"))


def _gather_head():
    """The graph's output is one column of the network's: micronn would predict all three."""
    m = _with_head([4, 3, 3], ["relu", "softmax"], "column", np.array([2], np.int64),
                   helper.make_node("Gather", ["p", "column"], ["picked"], name="pick", axis=1))
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1]))
    return m


REFUSED = {
    "gather-after-output": (_gather_head, "'pick' (Gather): it selects from the last layer's outputs"),
    "sub-after-output": (_sub_head, "'sub5' (Sub): a subtraction after the last layer"),
    "conv": (_conv_graph, "'/conv' (Conv)"),
    "leaky-alpha": (lambda: _leaky(0.2), "LeakyRelu alpha=0.2"),
    "softmax-axis-0": (lambda: _edit(torch_sequential([4, 3, 2], ["relu", "linear"]), "Gemm") and
                       _softmax_axis0(), "Softmax over axis 0"),
    "transA": (lambda: _edit(torch_sequential([4, 3, 2], ["relu", "linear"], flatten=False), "Gemm", transA=1),
               "transA=1"),
    "two-inputs": (_two_inputs, "2 inputs"),
    "hidden-softmax": (_hidden_softmax, "softmax"),
    "computed-weights": (_computed_weights, "'sequential/dense/MatMul' (MatMul): its weights ('wt') is computed"),
}


def _softmax_axis0():
    m = torch_sequential([4, 3, 2], ["relu", "softmax"])
    node = next(n for n in m.graph.node if n.op_type == "Softmax")
    node.attribute[0].i = 0
    return m


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unsupported_graphs_are_refused_in_one_line(tmp_path, case):
    make, words = REFUSED[case]
    src = tmp_path / "bad.onnx"
    onnx.save(make(), str(src))
    out = tmp_path / "bad.mnn"
    line = one_error_line(cli("import", src, "-o", out))
    assert words in line, line
    assert not out.exists() and not (tmp_path / "bad.mnn.tmp").exists()
    with pytest.raises(ConvertError):
        from_onnx(str(src))


def test_not_an_onnx_file(tmp_path):
    src = tmp_path / "x.onnx"
    src.write_bytes(b"MNN\x01 certainly not protobuf \xff\xff")
    line = one_error_line(cli("import", src, "-o", tmp_path / "x.mnn"))
    assert "not an ONNX model" in line and not (tmp_path / "x.mnn").exists()


def test_a_missing_onnx_package_is_one_line(tmp_path):
    code = ("import sys\nsys.modules['onnx'] = None\nfrom micronn_host.cli import main\n"
            "main(['import', 'm.onnx', '-o', 'm.mnn'])\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    one_error_line(p)
    assert "pip install 'micronn[onnx]'" in p.stderr


# -- export ------------------------------------------------------------------------------------------

def _trained(sizes, hidden, output, scale=None, classes=None, bias=True, dtype="f", seed=4):
    net = micronn.Network(sizes, activation=hidden, output=output, bias=bias, seed=seed, dtype=dtype)
    X = (RNG.normal(size=(24, sizes[0])) * 3 + 1).tolist()
    Y = RNG.uniform(size=(24, sizes[-1]))
    if output == "softmax":
        Y = Y / Y.sum(axis=1, keepdims=True)
    net.fit(X, Y.tolist(), epochs=5, lr=0.05, loss="mse", scale=scale)
    net.classes = classes
    return net


EXPORTS = {
    "softmax-scaled-classes": lambda: _trained([4, 8, 3], "relu", "softmax", "standard", ["a", "b", "c"]),
    "sigmoid-binary-classes": lambda: _trained([4, 5, 1], "tanh", "sigmoid", "minmax", ["off", "on"]),
    "leaky-linear-no-bias": lambda: _trained([4, 6, 5, 2], ["leaky_relu", "sigmoid"], "linear", bias=False),
    "float64": lambda: _trained([4, 3, 2], "tanh", "tanh", dtype="d"),
}


@pytest.mark.parametrize("case", sorted(EXPORTS))
def test_export_runs_in_onnxruntime_like_micronn(tmp_path, case):
    net = EXPORTS[case]()
    net.save(str(tmp_path / "m.mnn"))
    p = cli("export", tmp_path / "m.mnn", "-o", tmp_path / "m.onnx", check=True)
    assert "ONNX opset 17" in p.stdout
    m = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(m, full_check=True)
    assert m.opset_import[0].version == 17
    X = (RNG.normal(size=(40, 4)) * 3 + 1).astype(np.float32)
    outs = ort_run(tmp_path / "m.onnx", X, "input")
    close(outs[0], net.predict_many(X.tolist()))
    if net.classes:
        assert [s.decode() if isinstance(s, bytes) else s for s in outs[1]] == [net.classify(x) for x in X.tolist()]
    back = from_onnx(str(tmp_path / "m.onnx"))        # and back: the same model
    assert back.sizes == net.sizes and back.activations == net.activations and back.classes == net.classes
    assert (back.scaler is None) == (net.scaler is None)
    close(back.predict_many(X.tolist()), net.predict_many(X.tolist()), 1e-6)


def test_int8_model_exports_its_dequantized_network(tmp_path):
    from micronn_host.convert.int8 import dequantize
    net = _trained([4, 8, 3], "relu", "softmax", "standard", ["a", "b", "c"])
    X = (RNG.normal(size=(40, 4)) * 3 + 1).astype(np.float32)
    q = micronn.quantize(net, X=X.tolist())
    q.save(str(tmp_path / "q.mnn"))
    p = cli("export", tmp_path / "q.mnn", "-o", tmp_path / "q.onnx", check=True)
    assert "dequantized" in p.stdout
    m = onnx.load(str(tmp_path / "q.onnx"))
    assert "dequantized" in m.doc_string
    out = ort_run(tmp_path / "q.onnx", X)[0]
    close(out, dequantize(q).predict_many(X.tolist()))
    # the int8 model itself rounds activations to bytes between layers: close, not equal
    close(out, q.predict_many(X.tolist()), 0.02)
    close(out, net.predict_many(X.tolist()), 0.02)


def test_export_refuses_a_bad_target_in_one_line(tmp_path):
    net = _trained([4, 3, 2], "tanh", "tanh")
    net.save(str(tmp_path / "m.mnn"))
    assert "must end in .onnx" in one_error_line(cli("export", tmp_path / "m.mnn", "-o", tmp_path / "m.txt"))
    assert "No such file" in one_error_line(cli("export", tmp_path / "none.mnn", "-o", tmp_path / "m.onnx"))
    assert not (tmp_path / "m.txt").exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_other_opsets(tmp_path, opset):
    net = EXPORTS["softmax-scaled-classes"]()
    net.save(str(tmp_path / "m.mnn"))
    cli("export", tmp_path / "m.mnn", "-o", tmp_path / "m.onnx", "--opset", opset, check=True)
    m = onnx.load(str(tmp_path / "m.onnx"))
    assert m.opset_import[0].version == opset
    X = RNG.normal(size=(10, 4)).astype(np.float32)
    close(ort_run(tmp_path / "m.onnx", X)[0], net.predict_many(X.tolist()))
    assert "opset 13 or newer" in one_error_line(cli("export", tmp_path / "m.mnn", "-o", tmp_path / "o.onnx",
                                                     "--opset", 12))
    newest = onnx.defs.onnx_opset_version()
    line = one_error_line(cli("export", tmp_path / "m.mnn", "-o", tmp_path / "o.onnx", "--opset", newest + 1))
    assert "opset %d" % (newest + 1) in line and str(newest) in line
    assert not (tmp_path / "o.onnx").exists()


def test_in_ci_a_missing_onnx_fails_the_onnx_tests():
    """CI=true: these tests fail without the onnx extra (as need() does for missing tools), rather
    than skipping themselves and passing."""
    code = ("import sys\nsys.modules['onnx'] = None\nimport pytest\n"
            "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '--collect-only', 'tests/test_onnx.py', "
            "'tests/test_onnx_conv.py']))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT),
                       env=dict(os.environ, CI="true"), timeout=120)
    assert p.returncode not in (0, 5), p.stdout + p.stderr
    assert "CI=true" in p.stdout + p.stderr
