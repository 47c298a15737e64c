"""micronn models as standard ONNX graphs: `micronn export -o model.onnx`, convert.to_onnx.

The graph (default opset 17) has one input `input` [batch, n_in] float and:

- the model's input scaling as Sub(offset) then Mul(factor), before the first layer;
- per layer a Gemm (weights as micronn stores them, one row per output: transB=1; no C input
  without biases) and its activation: Sigmoid, Tanh, Relu, LeakyRelu(alpha=0.01), Softmax
  (axis=-1), nothing for linear;
- a model with convolutions (layer specs): the rows, micronn's windows of L readings of C
  channels flattened channel-last, Reshape'd to [batch, L, C] and transposed to ONNX's
  [batch, C, L]; then per layer a Conv (weights [F, C, K], explicit pads: none, or micronn's
  'same' padding with the extra one on the right) and its activation, MaxPool or AveragePool
  (kernel = stride = size) or GlobalAveragePool; a Flatten before the first Gemm, whose weight
  columns are reordered to the flattened [C, L] (channel-first) order;
- the output `output` [batch, n_out], float;
- for a model with class names, a second output `label` [batch] (strings): the class the model
  gives each sample, as micronn's classify() does (the largest output; for one sigmoid output,
  the second class when p >= 0.5), computed with ArgMax or GreaterOrEqual, then Gather; no
  ZipMap, so every runtime can read it;
- metadata_props: micronn.classes, micronn.inputs, micronn.targets (JSON lists),
  micronn.scaling (its kind) and micronn.summary, so `micronn import` gets them back.

Weights are float32 (a float64 model's are rounded to float32).  An int8 model is exported as
its dequantized float network (convert.int8), which the graph's doc_string says: onnxruntime
then computes what the int8 kernels approximate, without their rounding between layers.
"""
import json

import micronn

from .errors import ConvertError, need_onnx

ONNX_ACT = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
            "softmax": "Softmax"}


def to_onnx(model, path=None, opset=17):
    onnx = need_onnx()
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    if opset < 13:
        raise ConvertError("opset %d: micronn writes opset 13 or newer (17 by default)" % opset)
    if opset > onnx.defs.onnx_opset_version():
        raise ConvertError("opset %d: the onnx package here (%s) knows opsets up to %d"
                           % (opset, onnx.__version__, onnx.defs.onnx_opset_version()))
    doc = "micronn %s model %s" % (micronn.__version__, "-".join(map(str, model.sizes)))
    if getattr(model, "dtype", "f") == "b":
        from .int8 import dequantize
        model = dequantize(model)
        doc += ": the dequantized float network of an int8 model (its outputs differ from the int8 " \
               "model's by the int8 rounding of activations)"
    net = model
    nodes, inits = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    x = "input"
    if net.scaler is not None:
        nodes.append(helper.make_node("Sub", [x, const("scale_offset", list(net.scaler.offset))],
                                      ["scaled_0"], name="scale_sub"))
        nodes.append(helper.make_node("Mul", ["scaled_0", const("scale_factor", list(net.scaler.factor))],
                                      ["scaled"], name="scale_mul"))
        x = "scaled"
    last = len(net.layers) - 1
    window = None                       # (C, L) while the values are a window [batch, C, L]
    if getattr(net, "spec", None):
        L0, C0 = (int(v) for v in net.spec[0].split("x"))
        nodes.append(helper.make_node("Reshape", [x, const("window_shape", [-1, L0, C0], np.int64)], ["window_lc"],
                                      name="window_reshape"))
        nodes.append(helper.make_node("Transpose", ["window_lc"], ["window"], name="window_transpose",
                                      perm=[0, 2, 1]))
        x = "window"
        window = (C0, L0)
    for l, L in enumerate(net.layers):
        act = L.activation
        if L.kind:
            x, window = _window_layer(helper, nodes, const, np, l, L, x)
            if act == "linear":
                continue
            y = "layer%d_y" % l
            nodes.append(helper.make_node(ONNX_ACT[act], [x], [y], name="layer%d_%s" % (l, act),
                                          **({"alpha": 0.01} if act == "leaky_relu" else {})))
            x = y
            continue
        W = np.array(L.W, dtype=np.float32).reshape(L.n_out, L.n_in)
        if window is not None:          # flattened channel-first: column c*L + t is micronn's t*C + c
            C, Lw = window
            W = W.reshape(L.n_out, Lw, C).transpose(0, 2, 1).reshape(L.n_out, C * Lw)
            nodes.append(helper.make_node("Flatten", [x], ["layer%d_flat" % l], name="layer%d_flatten" % l,
                                          axis=1))
            x = "layer%d_flat" % l
            window = None
        ins = [x, const("layer%d_W" % l, W)]
        if L.b is not None:
            ins.append(const("layer%d_b" % l, list(L.b)))
        z = "output" if l == last and act == "linear" else "layer%d_z" % l
        nodes.append(helper.make_node("Gemm", ins, [z], name="layer%d_gemm" % l, transB=1))
        if act != "linear":
            y = "output" if l == last else "layer%d_y" % l
            kw = {"alpha": 0.01} if act == "leaky_relu" else {"axis": -1} if act == "softmax" else {}
            nodes.append(helper.make_node(ONNX_ACT[act], [z], [y], name="layer%d_%s" % (l, act), **kw))
            z = y
        x = z
    n_out = net.sizes[-1]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", n_out])]
    if net.classes:
        names = np.array(net.classes, dtype=object)
        if n_out == 1:
            nodes += [helper.make_node("GreaterOrEqual", ["output", const("half", 0.5)], ["is_second"],
                                       name="label_threshold"),
                      helper.make_node("Cast", ["is_second"], ["class_2d"], name="label_cast",
                                       to=TensorProto.INT64),
                      helper.make_node("Reshape", ["class_2d", const("label_shape", [-1], np.int64)],
                                       ["class_index"], name="label_flatten")]
        else:
            nodes.append(helper.make_node("ArgMax", ["output"], ["class_index"], name="label_argmax",
                                          axis=1, keepdims=0))
        inits.append(numpy_helper.from_array(names, "class_names"))
        nodes.append(helper.make_node("Gather", ["class_names", "class_index"], ["label"], name="label_gather"))
        outputs.append(helper.make_tensor_value_info("label", TensorProto.STRING, ["batch"]))
    graph = helper.make_graph(nodes, "micronn", [helper.make_tensor_value_info(
        "input", TensorProto.FLOAT, ["batch", net.sizes[0]])], outputs, inits)
    opsets = [helper.make_opsetid("", opset)]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="micronn",
                          producer_version=micronn.__version__, doc_string=doc)
    m.ir_version = helper.find_min_ir_version_for(opsets)     # the oldest runtime that can read it
    meta = {}
    for key in ("classes", "inputs", "targets"):
        if getattr(net, key) is not None:
            meta["micronn." + key] = json.dumps(list(getattr(net, key)))
    if net.scaler is not None:
        meta["micronn.scaling"] = net.scaler.kind
    if net.summary is not None:
        meta["micronn.summary"] = json.dumps(net.summary)
    if getattr(net, "spec", None):
        meta["micronn.spec"] = json.dumps(net.spec)
    helper.set_model_props(m, meta)
    try:
        onnx.checker.check_model(m)
    except onnx.checker.ValidationError as e:           # a bug here, not the user's
        raise ConvertError("the ONNX graph does not validate: %s" % str(e).splitlines()[0])
    if path is not None:
        from ..files import write_atomic
        write_atomic(str(path), m.SerializeToString())
    return m


def _window_layer(helper, nodes, const, np, l, L, x):
    """The node of a convolution or pooling layer on the window x [batch, C, L]; returns its
    output's name and (channels, length)."""
    z = "layer%d_z" % l
    if L.kind == 1:                     # Conv1D: micronn's W[f, k, c] as ONNX's [F, C, K]
        W = np.array(L.W, dtype=np.float32).reshape(L.F, L.K, L.C).transpose(0, 2, 1)
        ins = [x, const("layer%d_W" % l, W)]
        if L.b is not None:
            ins.append(const("layer%d_b" % l, list(L.b)))
        right = max(0, (L.L_out - 1) * L.stride + L.K - L.L - L.pad) if L.same else 0
        nodes.append(helper.make_node("Conv", ins, [z], name="layer%d_conv" % l, kernel_shape=[L.K],
                                      strides=[L.stride], pads=[L.pad, right]))
        return z, (L.F, L.L_out)
    if L.gap:
        nodes.append(helper.make_node("GlobalAveragePool", [x], [z], name="layer%d_gap" % l))
    else:
        op = "MaxPool" if L.kind == 2 else "AveragePool"
        nodes.append(helper.make_node(op, [x], [z], name="layer%d_pool" % l, kernel_shape=[L.size],
                                      strides=[L.size]))
    return z, (L.C, L.L_out)
