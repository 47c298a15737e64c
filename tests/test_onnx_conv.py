"""ONNX in and out for networks with 1-D convolutions and pooling: `micronn export` checked
against onnxruntime, and graphs as PyTorch (input [batch, C, L]) and Keras through tf2onnx
(input [batch, L, C] and a Transpose) write them, built with onnx.helper.

Tolerance 1e-5 on outputs of order 1, as in test_onnx.py (float32 weights; micronn's float
kernels in float64 here, onnxruntime in float32)."""
import numpy as np
import pytest

from conftest import need_module  # noqa: E402

onnx = need_module("onnx", "the onnx extra: pip install -e '.[dev,onnx]' (make test does it)")
ort = need_module("onnxruntime", "onnxruntime: pip install -e '.[dev,onnx]'")

import micronn
from boards import cli, one_error_line
from micronn_host.convert import ConvertError, from_onnx, to_onnx
from onnx import TensorProto, helper, numpy_helper

pytestmark = pytest.mark.slow
TOL = 1e-5
RNG = np.random.default_rng(5)


def ort_run(model_or_path, X):
    src = model_or_path.SerializeToString() if hasattr(model_or_path, "SerializeToString") else str(model_or_path)
    s = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: X})


def close(a, b, tol=TOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = np.abs(a - b).max()
    assert err <= tol, "largest difference %g > %g" % (err, tol)


EXPORTS = [
    (["20x3", "conv6k5", "maxpool2", 8, 3], "relu", "softmax"),
    (["21x2", "conv4k4s2same", "avgpool2", "conv3k3same", "gap", 5, 2], "tanh", "sigmoid"),
    (["16x1", "conv5k3s3", "maxpool2", 1], "leaky_relu", "linear"),
    (["9x4", "conv2k7same", "gap", 4], "sigmoid", "tanh"),
]


@pytest.mark.parametrize("specs,hidden,output", EXPORTS, ids=lambda v: "-".join(map(str, v)) if isinstance(v, list) else v)
def test_export_runs_in_onnxruntime_like_micronn_and_imports_back(tmp_path, specs, hidden, output):
    net = micronn.Network(specs, activation=hidden, output=output, seed=4)
    n_in = net.sizes[0]
    X = RNG.normal(size=(16, n_in)).astype(np.float32)
    net.fit(X.tolist(), RNG.uniform(0.1, 0.9, (16, net.sizes[-1])).tolist(), epochs=3, lr=0.05,
            scale="standard")                                   # scaled inputs, trained weights
    path = tmp_path / "m.onnx"
    p = cli("export", _save(net, tmp_path), "-o", path, check=True)
    assert "exported" in p.stdout
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    assert ops[:4] == ["Sub", "Mul", "Reshape", "Transpose"] and "Conv" in ops and "Flatten" in ops
    close(net.predict_many(X.tolist()), ort_run(path, X)[0])
    back = tmp_path / "back.mnn"
    cli("import", path, "-o", back, check=True)
    again = micronn.load(str(back))
    assert again.spec == net.spec and again.activations == net.activations
    close(again.predict_many(X.tolist()), net.predict_many(X.tolist()), 1e-6)


def _save(net, tmp_path, name="m.mnn"):
    path = tmp_path / name
    net.save(str(path))
    return path


def test_an_int8_model_with_convolutions_exports_its_dequantized_network(tmp_path):
    net = micronn.Network(["20x3", "conv6k5", "maxpool2", 8, 3], activation="relu", output="softmax", seed=2)
    X = RNG.normal(size=(30, 60)).astype(np.float32)
    q = micronn.quantize(net, X=X.tolist())
    m = to_onnx(q)
    assert "dequantized" in m.doc_string
    got = ort_run(m, X)[0]
    close(got, q.predict_many(X.tolist()), 0.02)
    close(got, net.predict_many(X.tolist()), 0.05)


def test_a_standalone_module_of_a_model_with_convolutions_is_refused_in_one_line(tmp_path):
    net = micronn.Network(["20x3", "conv6k5", "maxpool2", 8, 3], seed=2)
    line = one_error_line(cli("export", _save(net, tmp_path), "-o", tmp_path / "m.py"))
    assert "has no standalone module: export it to ONNX" in line and not (tmp_path / "m.py").exists()


# -- graphs as the exporters write them -------------------------------------------------------------

def _graph(nodes, inits, in_shape, n_out, opset=17):
    g = helper.make_graph(nodes, "main_graph", [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_out])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _t(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32 if np.asarray(a).dtype.kind == "f" else np.int64),
                                   name)


def torch_cnn(C=3, L=24, F=6, K=5, stride=1, pads=(0, 0), pool=("MaxPool", 2), relu_after_pool=False, hidden=10,
              n_out=4, conv_bias=True):
    """torch.onnx.export of nn.Sequential(Conv1d(C, F, K, stride, padding), ReLU(), MaxPool1d(2),
    Flatten(), Linear(..., hidden), ReLU(), Linear(hidden, n_out), Softmax(-1)): input [batch, C, L]."""
    r = np.random.default_rng(1)
    W = r.normal(scale=0.4, size=(F, C, K))
    b = r.normal(scale=0.2, size=F)
    Lo = (L + pads[0] + pads[1] - K) // stride + 1
    nodes = [helper.make_node("Conv", ["input", "0.weight"] + (["0.bias"] if conv_bias else []), ["/0/Conv_output_0"],
                              name="/0/Conv", dilations=[1], group=1, kernel_shape=[K], pads=list(pads),
                              strides=[stride])]
    inits = [_t("0.weight", W)] + ([_t("0.bias", b)] if conv_bias else [])
    cur = "/0/Conv_output_0"
    act = [helper.make_node("Relu", [cur], ["/1/Relu_output_0"], name="/1/Relu")]
    if not relu_after_pool:
        nodes += act
        cur = "/1/Relu_output_0"
    kind, size = pool
    if kind == "GlobalAveragePool":
        nodes.append(helper.make_node(kind, [cur], ["/2/pool"], name="/2/Pool"))
        Lp = 1
    else:
        kw = {"ceil_mode": 0, "kernel_shape": [size], "pads": [0, 0], "strides": [size]}
        if kind == "MaxPool":
            kw["dilations"] = [1]
        nodes.append(helper.make_node(kind, [cur], ["/2/pool"], name="/2/Pool", **kw))
        Lp = Lo // size
    cur = "/2/pool"
    if relu_after_pool:
        nodes.append(helper.make_node("Relu", [cur], ["/1/Relu_output_0"], name="/1/Relu"))
        cur = "/1/Relu_output_0"
    W1 = r.normal(scale=0.3, size=(hidden, F * Lp))
    W2 = r.normal(scale=0.3, size=(n_out, hidden))
    nodes += [helper.make_node("Flatten", [cur], ["/3/Flatten_output_0"], name="/3/Flatten", axis=1),
              helper.make_node("Gemm", ["/3/Flatten_output_0", "4.weight", "4.bias"], ["/4/Gemm_output_0"],
                               name="/4/Gemm", alpha=1.0, beta=1.0, transB=1),
              helper.make_node("Relu", ["/4/Gemm_output_0"], ["/5/Relu_output_0"], name="/5/Relu"),
              helper.make_node("Gemm", ["/5/Relu_output_0", "6.weight", "6.bias"], ["/6/Gemm_output_0"],
                               name="/6/Gemm", alpha=1.0, beta=1.0, transB=1),
              helper.make_node("Softmax", ["/6/Gemm_output_0"], ["output"], name="/7/Softmax", axis=-1)]
    inits += [_t("4.weight", W1), _t("4.bias", r.normal(scale=0.2, size=hidden)), _t("6.weight", W2),
              _t("6.bias", r.normal(scale=0.2, size=n_out))]
    return _graph(nodes, inits, ["batch", C, L], n_out)


TORCH = {
    "valid": {},
    "same": {"pads": (2, 2)},
    "stride2": {"stride": 2, "K": 4},
    "avgpool": {"pool": ("AveragePool", 3)},
    "gap": {"pool": ("GlobalAveragePool", None)},
    "relu_after_maxpool": {"relu_after_pool": True, "conv_bias": False},
}


@pytest.mark.parametrize("case", list(TORCH))
def test_pytorch_conv1d_graphs(tmp_path, case):
    model = torch_cnn(**TORCH[case])
    src = tmp_path / "t.onnx"
    onnx.save(model, str(src))
    out = tmp_path / "t.mnn"
    p = cli("import", src, "-o", out, check=True)
    assert "note: the graph's input is [batch, channels, length] = [batch, 3, 24]" in p.stdout
    net = micronn.load(str(out))
    assert net.spec[0] == "24x3" and net.activations[-1] == "softmax"
    X = RNG.normal(size=(12, 3, 24)).astype(np.float32)
    rows = X.transpose(0, 2, 1).reshape(12, -1)             # micronn's rows: channel-last
    close(net.predict_many(rows.tolist()), ort_run(src, X)[0])


def keras_cnn(L=20, C=3, F=5, K=3, hidden=6, n_out=3):
    """tf2onnx's form of a Keras Sequential(Conv1D(F, K, activation="relu"), MaxPooling1D(2),
    Flatten(), Dense(hidden, "tanh"), Dense(n_out, "softmax")): input [batch, L, C], a Transpose
    to [batch, C, L] before the Conv and back after the pooling, a Reshape to [batch, -1] and
    MatMul + Add."""
    r = np.random.default_rng(2)
    Lp = (L - K + 1) // 2
    W = r.normal(scale=0.4, size=(F, C, K))
    nodes = [helper.make_node("Transpose", ["input"], ["t0"], name="conv1d/transpose", perm=[0, 2, 1]),
             helper.make_node("Conv", ["t0", "k0", "b0"], ["c0"], name="conv1d/Conv", kernel_shape=[K],
                              strides=[1], dilations=[1], auto_pad="VALID"),
             helper.make_node("Relu", ["c0"], ["r0"], name="conv1d/Relu"),
             helper.make_node("MaxPool", ["r0"], ["p0"], name="max_pooling1d/MaxPool", kernel_shape=[2], strides=[2]),
             helper.make_node("Transpose", ["p0"], ["t1"], name="max_pooling1d/transpose", perm=[0, 2, 1]),
             helper.make_node("Reshape", ["t1", "flat_shape"], ["f0"], name="flatten/Reshape"),
             helper.make_node("MatMul", ["f0", "k1"], ["m1"], name="dense/MatMul"),
             helper.make_node("Add", ["m1", "b1"], ["a1"], name="dense/BiasAdd"),
             helper.make_node("Tanh", ["a1"], ["h1"], name="dense/Tanh"),
             helper.make_node("MatMul", ["h1", "k2"], ["m2"], name="dense_1/MatMul"),
             helper.make_node("Add", ["m2", "b2"], ["a2"], name="dense_1/BiasAdd"),
             helper.make_node("Softmax", ["a2"], ["output"], name="dense_1/Softmax", axis=-1)]
    inits = [_t("k0", W), _t("b0", r.normal(scale=0.2, size=F)), _t("flat_shape", np.array([-1, Lp * F])),
             _t("k1", r.normal(scale=0.3, size=(Lp * F, hidden))), _t("b1", r.normal(scale=0.2, size=hidden)),
             _t("k2", r.normal(scale=0.3, size=(hidden, n_out))), _t("b2", r.normal(scale=0.2, size=n_out))]
    return _graph(nodes, inits, ["unk__6", L, C], n_out, opset=13)


def test_keras_conv1d_graph_through_tf2onnx(tmp_path):
    model = keras_cnn()
    net = from_onnx(model)
    assert net.spec == ["20x3", "conv5k3", "maxpool2", 6, 3] and net.activations == ["relu", "linear", "tanh",
                                                                                      "softmax"]
    assert getattr(net, "import_note", None) is None            # Keras' rows are micronn's
    X = RNG.normal(size=(10, 20, 3)).astype(np.float32)
    close(net.predict_many(X.reshape(10, -1).tolist()), ort_run(model, X)[0])


def _refuse(model, tmp_path):
    src = tmp_path / "bad.onnx"
    onnx.save(model, str(src))
    line = one_error_line(cli("import", src, "-o", tmp_path / "bad.mnn"))
    assert not (tmp_path / "bad.mnn").exists()
    return line


def _attr(model, op, name, value):
    node = next(n for n in model.graph.node if n.op_type == op)
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))
    return model


@pytest.mark.parametrize("change,message", [
    (lambda m: _attr(m, "Conv", "group", 3), "group=3"),
    (lambda m: _attr(m, "Conv", "dilations", [2]), "dilations"),
    (lambda m: _attr(m, "Conv", "pads", [1, 0]), "pads [1, 0]; micronn pads none ('valid') or [2, 2] here"),
    (lambda m: _attr(m, "MaxPool", "strides", [1]), "micronn pools with a stride of its size"),
])
def test_unsupported_convolutions_are_refused_in_one_line(tmp_path, change, message):
    line = _refuse(change(torch_cnn()), tmp_path)
    assert message in line, line


def test_a_2d_convolution_is_refused_in_one_line(tmp_path):
    W = np.zeros((2, 1, 3, 3))
    nodes = [helper.make_node("Conv", ["input", "w"], ["c"], name="conv2d", kernel_shape=[3, 3]),
             helper.make_node("Flatten", ["c"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "g"], ["output"], transB=1)]
    model = _graph(nodes, [_t("w", W), _t("g", np.zeros((2, 2 * 4 * 4)))], ["batch", 1, 6, 6], 2)
    line = _refuse(model, tmp_path)
    assert "not [batch, channels, length]" in line or "1-D" in line, line
