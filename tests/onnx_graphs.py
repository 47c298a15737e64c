"""ONNX graphs of dense networks as the real exporters write them, built with onnx.helper (so the
tests need neither PyTorch nor TensorFlow).

- torch_sequential: torch.onnx.export of nn.Sequential(Flatten, Linear, ReLU, Dropout, Linear,
  ..., Softmax(dim=-1)) in eval mode at opset 17, as both the TorchScript exporter
  (dynamo=False: nodes /0/Flatten, /1/Gemm ..., initializers "1.weight", "1.bias") and the
  dynamo exporter (node_linear ..., Gemm with transA=0 spelled out) write it: Gemm with
  alpha=1, beta=1, transB=1, weights [out, in]; LeakyRelu's alpha is the float32 0.01.
- keras_sequential: tf2onnx's form of a Keras Sequential of Dense layers: MatMul by the kernel
  [in, out], Add of the bias, the activation, an Identity to the output; the batch dimension
  is named unk__N.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

TORCH_ACT = {"relu": ("Relu", {}), "leaky_relu": ("LeakyRelu", {"alpha": 0.009999999776482582}),
             "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "softmax": ("Softmax", {"axis": -1})}


def weights(sizes, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    out = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        W = rng.normal(scale=1 / np.sqrt(n_in), size=(n_out, n_in)).astype(np.float32)
        b = rng.normal(scale=0.3, size=n_out).astype(np.float32) if bias else None
        out.append((W, b))
    return out


def _model(nodes, inits, n_in, n_out, batch="batch", opset=17, in_name="input", out_name="output",
           in_shape=None):
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape or [batch, n_in])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [batch, n_out])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
    m.ir_version = 8
    return m


def torch_sequential(sizes, acts, seed=0, dynamo=False, flatten=True, dropout=True, batch="batch",
                     alpha=1.0, beta=1.0, in_shape=None):
    """acts: one activation name (or "linear") per Linear layer."""
    nodes, inits = [], []
    x, k = "input", 0
    if flatten:
        nodes.append(helper.make_node("Flatten", [x], ["/0/Flatten_output_0"], name="/0/Flatten", axis=1))
        x, k = "/0/Flatten_output_0", 1
    ws = weights(sizes, seed)
    for l, (W, b) in enumerate(ws):
        name = "node_linear" + ("_%d" % l if l else "") if dynamo else "/%d/Gemm" % k
        inits += [numpy_helper.from_array(W, "%d.weight" % k), numpy_helper.from_array(b, "%d.bias" % k)]
        y = (name.replace("node_", "") if dynamo else name + "_output_0")
        kw = {"alpha": alpha, "beta": beta, "transB": 1}
        if dynamo:
            kw["transA"] = 0
        nodes.append(helper.make_node("Gemm", [x, "%d.weight" % k, "%d.bias" % k], [y], name=name, **kw))
        x, k = y, k + 1
        if acts[l] != "linear":
            op, attrs = TORCH_ACT[acts[l]]
            y = "/%d/%s_output_0" % (k, op)
            nodes.append(helper.make_node(op, [x], [y], name="/%d/%s" % (k, op), **attrs))
            x, k = y, k + 1
        if dropout and l == 0 and len(ws) > 1:      # eval-mode dropout, as an Identity-like node
            y = "/%d/Dropout_output_0" % k
            nodes.append(helper.make_node("Dropout", [x], [y], name="/%d/Dropout" % k))
            x, k = y, k + 1
    nodes.append(helper.make_node("Identity", [x], ["output"], name="/Identity"))
    return _model(nodes, inits, sizes[0], sizes[-1], batch, in_shape=in_shape)


def keras_sequential(sizes, acts, seed=0):
    nodes, inits = [], []
    x = "dense_input"
    for l, (W, b) in enumerate(weights(sizes, seed)):
        d = "sequential/dense%s" % ("_%d" % l if l else "")
        kern, bias = d + "/MatMul/ReadVariableOp:0", d + "/BiasAdd/ReadVariableOp:0"
        inits += [numpy_helper.from_array(W.T.copy(), kern), numpy_helper.from_array(b, bias)]
        nodes.append(helper.make_node("MatMul", [x, kern], [d + "/MatMul:0"], name=d + "/MatMul"))
        nodes.append(helper.make_node("Add", [d + "/MatMul:0", bias], [d + "/BiasAdd:0"], name=d + "/BiasAdd"))
        x = d + "/BiasAdd:0"
        if acts[l] != "linear":
            op, attrs = TORCH_ACT[acts[l]]
            attrs = {"alpha": 0.01} if op == "LeakyRelu" else {"axis": 1} if op == "Softmax" else {}
            nodes.append(helper.make_node(op, [x], [d + "/%s:0" % op], name=d + "/" + op, **attrs))
            x = d + "/%s:0" % op
    nodes.append(helper.make_node("Identity", [x], ["dense_out"], name="Identity"))
    m = _model(nodes, inits, sizes[0], sizes[-1], batch="unk__6", opset=13, in_name="dense_input",
               out_name="dense_out")
    m.producer_name = "tf2onnx"
    return m
