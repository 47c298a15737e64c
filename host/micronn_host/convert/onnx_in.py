"""ONNX graphs of dense networks into micronn: `micronn import`, convert.from_onnx.

The graph is read as one chain from its input: optional input scaling (ai.onnx.ml Scaler, or
Sub/Add then Mul/Div by constants), then dense layers, each a Gemm (PyTorch's nn.Linear:
transB=1; alpha, beta and transB are applied, transA=1 is refused) or a MatMul followed by an
Add of a constant bias (Keras/TF converters, skl2onnx), each followed by at most one
activation: Relu, LeakyRelu (alpha 0.01, micronn's slope), Sigmoid, Tanh, Softmax on the last
axis (output layer only), or none.  Identity, Dropout (inference: nothing), Cast to float,
Flatten(axis=1) and a Reshape to [batch, features] pass through.

Before the dense layers, 1-D convolutions and pooling over a window of L readings of C
channels: Conv (1-D kernel, group 1, dilation 1, any stride, no padding or micronn's 'same'
padding; its bias, or an Add of one), MaxPool and AveragePool with stride = kernel and no
padding, GlobalAveragePool, each convolution followed by at most one activation (one after a
MaxPool moves before it: they commute).  ONNX computes them on [batch, C, L] and micronn's rows
are channel-last (reading t, channel c at t*C + c), so the graph's input is read as:

- [batch, L, C] with a Transpose(perm=[0, 2, 1]) after it (Keras through tf2onnx), or [batch,
  L*C] with a Reshape to [batch, L, C] and that Transpose (micronn's own export): the same rows;
- [batch, C, L] (PyTorch): a micronn row is then the sample transposed to (L, C) and flattened.

Flatten (or a Reshape to [batch, features]) of [batch, C, L] orders the features channel-first;
the dense layer after it gets its weights' columns reordered to micronn's channel-last rows.

After the last layer a classifier's head as skl2onnx writes it (ArgMax, ArrayFeatureExtractor,
ZipMap, the binary [1 - p, p] Concat, Reshape, Cast), or micronn's own label output, is
recognised: its class labels become the model's class names.  Everything else is refused with
one line naming the node, its op and what micronn supports; nothing is half-read.
"""
import json

from .build import Layer, network
from .errors import ConvertError, need_onnx

ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh",
               "Softmax": "softmax"}
PASS = ("Identity", "Dropout", "Cast", "Flatten", "Reshape", "Transpose")
CONV = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool")
SCALING = ("Scaler", "Sub", "Add", "Mul", "Div")
# what may follow the last layer of a classifier (skl2onnx's, micronn's own label output)
HEAD = ("ArgMax", "ArrayFeatureExtractor", "ZipMap", "Concat", "Sub", "Reshape", "Cast", "Identity",
        "Gather", "GreaterOrEqual", "Squeeze", "Flatten")
SUPPORTED = ("micronn reads dense chains: Gemm, or MatMul + Add; Relu, LeakyRelu(alpha=0.01), Sigmoid, "
             "Tanh, Softmax (last axis, output layer); Identity, Dropout, Cast to float, Flatten(axis=1); "
             "input scaling by Scaler or Sub/Mul/Div with constants; skl2onnx's classifier outputs; before "
             "them 1-D Conv (valid or same padding), MaxPool, AveragePool (stride = kernel), GlobalAveragePool")
FLOAT, DOUBLE = 1, 11
_LEAK = 0.01


def from_onnx(source):
    onnx = need_onnx()
    name = "model"
    if isinstance(source, onnx.ModelProto):
        model = source
    else:
        name = str(source)
        try:
            model = onnx.load(name)
        except OSError as e:
            raise ConvertError("%s: %s" % (name, e.strerror or e))
        except Exception as e:          # protobuf's DecodeError and friends: not an ONNX file
            raise ConvertError("%s: not an ONNX model (%s)" % (name, str(e).splitlines()[0] if str(e) else
                                                                 type(e).__name__))
    try:
        return _Reader(onnx, model).read()
    except ConvertError as e:
        raise ConvertError("%s: %s" % (name, e))


def _node_name(node, index):
    return "node %r (%s)" % (node.name, node.op_type) if node.name else "node %d (%s)" % (index, node.op_type)


class _Reader:
    def __init__(self, onnx, model):
        from onnx import numpy_helper
        self.onnx, self.model, self.g = onnx, model, model.graph
        self.np = numpy_helper
        self.opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}.get("ai.onnx", 1)
        self.meta = {p.key: p.value for p in model.metadata_props}
        self.const = {}
        for t in self.g.initializer:
            self.const[t.name] = numpy_helper.to_array(t)
        self.nodes = list(self.g.node)      # one Python object per node: ids stay valid
        self.index = {}
        for k, node in enumerate(self.nodes):
            self.index[id(node)] = k
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.const[node.output[0]] = self._constant(node)
        self.users = {}
        for node in self.nodes:
            for t in node.input:
                if t:
                    self.users.setdefault(t, []).append(node)
        self.outputs = [o.name for o in self.g.output]

    # -- helpers ---------------------------------------------------------------------------------

    def where(self, node):
        return _node_name(node, self.index[id(node)])

    def refuse(self, node, why):
        raise ConvertError("%s: %s; %s" % (self.where(node), why, SUPPORTED))

    def attr(self, node, name, default=None):
        from onnx import helper
        for a in node.attribute:
            if a.name == name:
                v = helper.get_attribute_value(a)
                return v.decode() if isinstance(v, bytes) else v
        return default

    def _constant(self, node):
        from onnx import helper
        for a in node.attribute:
            if a.name == "value":
                return self.np.to_array(a.t)
            if a.name in ("value_float", "value_floats", "value_int", "value_ints"):
                import numpy as np
                return np.array(helper.get_attribute_value(a))
        self.refuse(node, "a Constant that is not a dense tensor")

    def constant(self, node, name, what):
        if name not in self.const:
            self.refuse(node, "its %s (%r) is computed in the graph, not a constant" % (what, name))
        return self.const[name]

    def vector(self, node, value, n, what):
        """value (a constant) as n floats: a scalar, [n], [1, n] or [1] broadcast to n."""
        import numpy as np
        v = np.asarray(value, dtype=np.float64)
        if v.ndim == 2 and v.shape[0] == 1:
            v = v[0]
        if v.ndim == 0 or v.shape == (1,):
            v = np.full(n, float(v.reshape(-1)[0]))
        if v.shape != (n,):
            self.refuse(node, "its %s has shape %s, expected %d values (one per feature)"
                        % (what, list(np.shape(value)), n))
        if not np.all(np.isfinite(v)):
            self.refuse(node, "its %s holds inf or nan" % what)
        return v

    def only_user(self, name):
        users = self.users.get(name, [])
        return users[0] if len(users) == 1 and name not in self.outputs else None

    # -- the chain -------------------------------------------------------------------------------

    def read(self):
        import numpy as np
        g = self.g
        inputs = [i for i in g.input if i.name not in self.const]
        if len(inputs) != 1:
            raise ConvertError("the graph has %d inputs (%s); micronn models take one input tensor "
                               "[batch, features]" % (len(inputs), ", ".join(i.name for i in inputs)))
        inp = inputs[0]
        tt = inp.type.tensor_type
        if not inp.type.HasField("tensor_type") or tt.elem_type not in (FLOAT, DOUBLE):
            raise ConvertError("input %r is not a float tensor; micronn models take float inputs" % inp.name)
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) < 2 or None in dims[1:] or 0 in dims[1:]:
            raise ConvertError("input %r has shape %s; micronn needs [batch, features] (any batch "
                               "dimension, fixed feature sizes)" % (inp.name, _shape(tt)))
        dtype = "d" if tt.elem_type == DOUBLE else "f"
        feat = dims[1:]                     # the shape of one sample
        n_in = int(np.prod(feat))
        # how micronn reads the sample: "flat" (perm: None for micronn's order, (C, L) for a window
        # flattened channel-first), "ncl" or "nlc" (a window: feat is [C, L] or [L, C]), "raw" (an
        # input of 2 or more dimensions, not yet read either way)
        self.form, self.perm = ("flat" if len(feat) == 1 else "raw"), None
        self.shape = None                   # (L, C) of the input, when convolutions come first
        self.note = None
        offset, factor = np.zeros(n_in), np.ones(n_in)
        scaled = False
        layers = []
        acts = {}                           # layer index -> the node that set its activation
        used = set()
        cur = inp.name
        while True:
            node = self.only_user(cur)
            if node is None:
                break
            op = node.op_type
            if node.domain not in ("", "ai.onnx") and not (node.domain == "ai.onnx.ml" and op == "Scaler"):
                break
            if op in PASS:
                feat = self.passthrough(node, feat, layers)
            elif op in CONV:
                if layers and layers[-1].kind == "dense":
                    self.refuse(node, "a convolution or pooling after a dense layer")
                feat = self.window(node, feat, layers)
                layers.append(self.conv(node, feat) if op == "Conv" else self.pool(node, feat))
                feat = self.after(layers[-1], feat)
            elif op in SCALING and not layers:
                if len(feat) != 1:
                    self.refuse(node, "scaling a %d-d input; flatten it first" % len(feat))
                offset, factor = self.scaling(node, cur, offset, factor, n_in)
                scaled = True
            elif op == "Gemm":
                layers.append(self.gemm(node, cur, self.flat(node, feat)))
                feat = [layers[-1].n_out]
                self.form, self.perm = "flat", None
            elif op == "MatMul":
                layers.append(self.matmul(node, cur, self.flat(node, feat)))
                feat = [layers[-1].n_out]
                self.form, self.perm = "flat", None
            elif op == "Add" and layers and layers[-1].kind == "conv" and layers[-1].act is None:
                L = layers[-1]
                other = node.input[1] if node.input[0] == cur else node.input[0]
                c = np.asarray(self.constant(node, other, "bias"), dtype=np.float64)
                F = L.W.shape[0]
                if c.size != F or (c.ndim > 1 and c.shape[-1] != 1 and c.shape[-1] != F) or \
                        (self.form == "ncl" and c.ndim > 1 and c.shape[-1] != 1):
                    self.refuse(node, "an Add of shape %s after a convolution of %d filters (a bias per "
                                "filter is read)" % (list(c.shape), F))
                c = c.reshape(-1)
                L.b = c if L.b is None else L.b + c
            elif op == "Add" and layers and layers[-1].act is None:
                L = layers[-1]
                other = node.input[1] if node.input[0] == cur else node.input[0]
                c = self.vector(node, self.constant(node, other, "bias"), L.n_out, "bias")
                L.b = c if L.b is None else L.b + c
            elif op in ACTIVATIONS:
                if not layers:
                    self.refuse(node, "an activation before the first dense layer")
                if layers[-1].kind == "maxpool" and len(layers) > 1 and layers[-2].kind == "conv" \
                        and layers[-2].act is None and op != "Softmax":
                    layers[-2].act = self.activation(node, feat)    # act(max(z)) = max(act(z))
                    acts[len(layers) - 2] = node
                    used.add(id(node))
                    cur = node.output[0]
                    continue
                if layers[-1].kind not in ("dense", "conv"):
                    self.refuse(node, "an activation after %s (micronn activates convolutions and dense "
                                "layers)" % layers[-1].kind)
                if layers[-1].act is not None:
                    self.refuse(node, "a second activation after %s" % self.where(acts[len(layers) - 1]))
                layers[-1].act = self.activation(node, feat)
                acts[len(layers) - 1] = node
            else:
                break
            used.add(id(node))
            cur = node.output[0]
        if not layers:
            node = self.only_user(cur) or (self.users.get(cur) or [None])[0]
            if node is not None and id(node) not in used:
                self.refuse(node, "not part of a dense network")
            raise ConvertError("the graph has no dense layer (Gemm or MatMul) after its input")
        classes = self.head(cur, used, layers)
        if classes is None and self.meta.get("micronn.classes"):
            classes = json.loads(self.meta["micronn.classes"])
        scaling = None
        if scaled:
            scaling = (self.meta.get("micronn.scaling", "standard"), offset, factor)
            if scaling[0] not in ("standard", "minmax"):
                scaling = ("standard",) + scaling[1:]
        names = {}
        for key in ("inputs", "targets"):
            if self.meta.get("micronn." + key):
                try:
                    names[key] = json.loads(self.meta["micronn." + key])
                except ValueError:
                    pass
        net = network(n_in, layers, scaling, classes, dtype=dtype, shape=self.shape, **names)
        if self.note:
            net.import_note = self.note
        return net

    # -- windows: convolutions and pooling ---------------------------------------------------------------

    def window(self, node, feat, layers):
        """feat as [C, L] for a convolution or pooling, which ONNX runs on [batch, C, L]; the first
        one fixes the input's (L, C)."""
        if self.form == "raw" and len(feat) == 2:
            self.form = "ncl"
            self.note = ("the graph's input is [batch, channels, length] = [batch, %d, %d]; micronn's rows "
                         "are channel-last, %dx%d: reading t, channel c at t*%d + c" % (feat[0], feat[1], feat[1],
                                                                                        feat[0], feat[0]))
        if self.form != "ncl":
            self.refuse(node, "its input is %s, not [batch, channels, length]%s" % (
                "flat" if self.form == "flat" else "[batch, length, channels]" if self.form == "nlc" else
                "%d-d" % len(feat), "; reshape to [batch, length, channels] and Transpose(perm=[0, 2, 1])"
                if self.form != "nlc" else "; Transpose(perm=[0, 2, 1]) it"))
        if not layers:
            self.shape = (feat[1], feat[0])
        return feat

    def after(self, layer, feat):
        """[C, L] after a convolution or pooling."""
        C, L = feat
        if layer.kind == "conv":
            F, _, K = layer.W.shape
            lo = -(-L // layer.stride) if layer.same else (L - K) // layer.stride + 1
            return [F, lo]
        if layer.kind == "gap":
            return [C, 1]
        return [C, L // layer.size]

    def ints(self, node, name, n, default):
        v = self.attr(node, name, None)
        if v is None:
            return list(default)
        v = [int(x) for x in v]
        if len(v) != n:
            self.refuse(node, "%s=%s for a 1-D window" % (name, v))
        return v

    def conv(self, node, feat):
        import numpy as np
        from micronn.shapes import padding
        from .build import Conv
        C, L = feat
        W = np.asarray(self.constant(node, node.input[1], "weights"), dtype=np.float64)
        if W.ndim != 3 or W.shape[1] != C:
            self.refuse(node, "weights of shape %s; a 1-D convolution of %d channels has [filters, %d, kernel]"
                        % (list(W.shape), C, C))
        F, _, K = W.shape
        if self.attr(node, "group", 1) != 1:
            self.refuse(node, "group=%s (grouped or depthwise convolutions)" % self.attr(node, "group"))
        if self.ints(node, "dilations", 1, [1]) != [1]:
            self.refuse(node, "dilations=%s" % self.attr(node, "dilations"))
        if self.ints(node, "kernel_shape", 1, [K]) != [K]:
            self.refuse(node, "kernel_shape=%s for weights of %d taps" % (self.attr(node, "kernel_shape"), K))
        s = self.ints(node, "strides", 1, [1])[0]
        if s < 1:
            self.refuse(node, "strides=[%d]" % s)
        lo, pl = padding(L, K, s, 1)
        same = (pl, max(0, (lo - 1) * s + K - L - pl))
        auto = self.attr(node, "auto_pad", "NOTSET")
        if auto == "VALID":
            pads = (0, 0)
        elif auto == "SAME_UPPER" or auto == "SAME_LOWER" and same[0] == same[1]:
            pads = same
        elif auto == "NOTSET":
            pads = tuple(self.ints(node, "pads", 2, [0, 0]))
        else:
            self.refuse(node, "auto_pad=%s" % auto)
        if pads != (0, 0) and pads != same:
            self.refuse(node, "pads %s; micronn pads none ('valid') or %s here ('same': the extra one on the "
                        "right)" % (list(pads), list(same)))
        if pads == (0, 0) and K > L:
            self.refuse(node, "a kernel of %d on a window of %d" % (K, L))
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = self.vector(node, self.constant(node, node.input[2], "bias"), F, "bias")
        self.finite(node, W)
        return Conv(W, b, s, pads != (0, 0), None, self.where(node))

    def pool(self, node, feat):
        from .build import Pool
        op = node.op_type
        if op == "GlobalAveragePool":
            return Pool("gap", None, self.where(node))
        k = self.ints(node, "kernel_shape", 1, [0])[0]
        if k < 1:
            self.refuse(node, "no kernel_shape")
        if self.ints(node, "strides", 1, [1]) != [k]:
            self.refuse(node, "strides=%s; micronn pools with a stride of its size (%d)"
                        % (self.attr(node, "strides") or [1], k))
        if self.ints(node, "pads", 2, [0, 0]) != [0, 0] or self.attr(node, "auto_pad", "NOTSET") not in (
                "NOTSET", "VALID") or self.attr(node, "ceil_mode", 0) or self.ints(node, "dilations", 1, [1]) != [1]:
            self.refuse(node, "padding, ceil_mode or dilations; micronn pools whole windows")
        if self.attr(node, "storage_order", 0) or (len(node.output) > 1 and node.output[1] in self.users):
            self.refuse(node, "its indices output is used")
        if k > feat[1]:
            self.refuse(node, "pooling %d readings of a window of %d" % (k, feat[1]))
        return Pool("maxpool" if op == "MaxPool" else "avgpool", k, self.where(node))

    def flat(self, node, feat):
        """feat for a dense layer: one dimension (the order of a window's values is in self.perm)."""
        if self.form == "raw" or len(feat) != 1:
            self.refuse(node, "a %d-d input; add Flatten before it" % len(feat))
        return feat

    def passthrough(self, node, feat, layers=None):
        """The sample shape after a node that changes no value."""
        import numpy as np
        op = node.op_type
        if op == "Transpose":
            perm = [int(v) for v in self.attr(node, "perm", [])]
            if perm != [0, 2, 1] or len(feat) != 2 or self.form == "flat":
                self.refuse(node, "a transpose %s of %s; micronn swaps length and channels of a window only "
                            "(perm=[0, 2, 1])" % (perm, [None] + list(feat)))
            self.form = "ncl" if self.form in ("raw", "nlc") else "nlc"
            return [feat[1], feat[0]]
        if op in ("Flatten", "Reshape") and self.form == "ncl":
            self.perm = tuple(feat)         # values channel-first: index c*L + t
        if op == "Reshape":
            shape = [int(v) for v in np.asarray(self.constant(node, node.input[1], "shape")).reshape(-1)]
            if len(shape) == 3 and shape[0] in (-1, 0) and self.form == "flat" and self.perm is None \
                    and not (shape[0] == 0 and self.attr(node, "allowzero", 0)):
                n = int(np.prod(feat))
                a, b = shape[1], shape[2]
                if a == -1 and b > 0 and n % b == 0:
                    a = n // b
                elif b == -1 and a > 0 and n % a == 0:
                    b = n // a
                if a > 0 and b > 0 and a * b == n:
                    self.form = "nlc"       # micronn's rows, as a window [L, C]
                    return [a, b]
        if op in ("Flatten", "Reshape") and self.form != "flat":
            self.form = "flat"
        if op == "Dropout":
            if len(node.input) > 2 and node.input[2]:
                mode = self.constant(node, node.input[2], "training_mode")
                if bool(np.asarray(mode).reshape(-1)[0]):
                    self.refuse(node, "dropout in training mode")
            if len(node.output) > 1 and node.output[1] in self.users:
                self.refuse(node, "its mask output is used")
        elif op == "Cast":
            if self.attr(node, "to") not in (FLOAT, DOUBLE):
                self.refuse(node, "a cast to a type that is not float")
        if op == "Flatten":
            if self.attr(node, "axis", 1) != 1:
                self.refuse(node, "Flatten with axis=%s (micronn flattens each sample: axis=1)"
                            % self.attr(node, "axis"))
            return [int(np.prod(feat))]
        elif op == "Reshape":
            shape = [int(v) for v in np.asarray(self.constant(node, node.input[1], "shape")).reshape(-1)]
            n = int(np.prod(feat))
            if len(shape) != 2 or shape[0] not in (-1, 0) or shape[1] not in (n, -1) or shape == [-1, -1] \
                    or (shape[0] == 0 and self.attr(node, "allowzero", 0)):
                self.refuse(node, "a reshape to %s; micronn keeps [batch, %d]" % (shape, n))
            return [n]
        return feat

    def scaling(self, node, cur, offset, factor, n):
        """(offset, factor) after this node: the inputs are mapped to (x - offset) * factor."""
        op = node.op_type
        if op == "Scaler":
            o = self.vector(node, self.attr(node, "offset", [0.0]), n, "offset")
            s = self.vector(node, self.attr(node, "scale", [1.0]), n, "scale")
            return offset + o / factor, factor * s
        if node.input[0] != cur and op in ("Sub", "Div"):
            self.refuse(node, "the input is on the right of %s" % op)
        other = node.input[1] if node.input[0] == cur else node.input[0]
        c = self.vector(node, self.constant(node, other, "operand"), n, "operand")
        if op in ("Sub", "Add"):
            return offset + (c if op == "Sub" else -c) / factor, factor
        if op == "Div":
            if (c == 0).any():
                self.refuse(node, "a division by zero")
            c = 1.0 / c
        if (c == 0).any():
            self.refuse(node, "a factor of zero")
        return offset, factor * c

    def gemm(self, node, cur, feat):
        import numpy as np
        if len(feat) != 1:
            self.refuse(node, "a %d-d input; add Flatten before it" % len(feat))
        if node.input[0] != cur:
            self.refuse(node, "the data is its B input, not A")
        if self.attr(node, "transA", 0):
            self.refuse(node, "transA=1 (transposing the batch)")
        alpha, beta = self.attr(node, "alpha", 1.0), self.attr(node, "beta", 1.0)
        B = np.asarray(self.constant(node, node.input[1], "weights B"), dtype=np.float64)
        if B.ndim != 2:
            self.refuse(node, "weights of shape %s" % list(B.shape))
        W = (B if self.attr(node, "transB", 0) else B.T) * alpha
        if W.shape[1] != feat[0]:
            self.refuse(node, "weights for %d inputs, but %d arrive" % (W.shape[1], feat[0]))
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = self.vector(node, self.constant(node, node.input[2], "bias C"), W.shape[0], "bias C") * beta
        self.finite(node, W)
        return Layer(self.reorder(W), b, None, self.where(node))

    def matmul(self, node, cur, feat):
        import numpy as np
        if len(feat) != 1:
            self.refuse(node, "a %d-d input; add Flatten before it" % len(feat))
        if node.input[0] != cur:
            self.refuse(node, "the data is its right operand")
        B = np.asarray(self.constant(node, node.input[1], "weights"), dtype=np.float64)
        if B.ndim != 2 or B.shape[0] != feat[0]:
            self.refuse(node, "weights of shape %s for %d inputs" % (list(B.shape), feat[0]))
        self.finite(node, B)
        return Layer(self.reorder(B.T), None, None, self.where(node))

    def reorder(self, W):
        """W's columns in micronn's order: a window flattened channel-first (perm (C, L), column
        c*L + t) is read channel-last (column t*C + c)."""
        if self.perm is None:
            return W
        C, L = self.perm
        return W.reshape(W.shape[0], C, L).transpose(0, 2, 1).reshape(W.shape[0], C * L)

    def finite(self, node, W):
        import numpy as np
        if not np.all(np.isfinite(W)):
            self.refuse(node, "its weights hold inf or nan")

    def activation(self, node, feat):
        import numpy as np
        op = node.op_type
        if op == "LeakyRelu":
            alpha = self.attr(node, "alpha", _LEAK)
            if np.float32(alpha) != np.float32(_LEAK):
                self.refuse(node, "LeakyRelu alpha=%g; micronn's leaky_relu has slope 0.01" % alpha)
        if op == "Softmax":
            axis = self.attr(node, "axis", -1 if self.opset >= 13 else 1)
            if axis not in (-1, len(feat)):
                self.refuse(node, "Softmax over axis %d, not the last one" % axis)
        return ACTIVATIONS[op]

    # -- after the last layer ----------------------------------------------------------------------

    def head(self, end, used, layers):
        """Check what follows the chain's end; return the class labels it names, or None."""
        import numpy as np
        rest = [n for n in self.nodes if id(n) not in used and n.op_type != "Constant"]
        if not rest:
            if end not in self.outputs:
                raise ConvertError("the graph's outputs do not come from its last layer")
            return None
        for node in rest:
            if node.op_type not in HEAD or node.domain not in ("", "ai.onnx", "ai.onnx.ml"):
                self.refuse(node, "not part of a dense network")
            if node.op_type in ("Gather", "ArrayFeatureExtractor") and node.input[0] not in self.const:
                # skl2onnx's and micronn's own pick a class label (a constant) by an index
                self.refuse(node, "it selects from the last layer's outputs (micronn keeps them all)")
        # every head node must work on the network's output or constants only
        known = {end} | set(self.const)
        todo = list(rest)
        while todo:
            progress = False
            for node in list(todo):
                if all(not t or t in known for t in node.input):
                    known |= set(node.output)
                    todo.remove(node)
                    progress = True
            if not progress:
                self.refuse(todo[0], "it reads a tensor that does not come from the last layer")
        n_out = layers[-1].n_out
        probs = {end}
        for node in rest:
            if node.op_type == "Concat" and n_out == 1:
                a, b = list(node.input)[:2] + [None] * (2 - len(node.input[:2]))
                sub = next((n for n in rest if a in n.output and n.op_type == "Sub"), None)
                one = sub is not None and sub.input[1] == end and sub.input[0] in self.const \
                    and float(np.asarray(self.const[sub.input[0]]).reshape(-1)[0]) == 1.0
                if len(node.input) != 2 or b != end or not one or self.attr(node, "axis") not in (1, -1):
                    self.refuse(node, "a Concat that is not skl2onnx's [1 - p, p] for a binary classifier")
                probs.add(node.output[0])
            elif node.op_type == "Sub" and not (node.input[1] == end and n_out == 1 and _one_minus(
                    self, node, rest)):
                self.refuse(node, "a subtraction after the last layer")
            elif node.op_type == "Concat":
                self.refuse(node, "a Concat after the last layer")
        classes = None
        for node in rest:
            found = None
            if node.op_type == "ZipMap":
                found = self.attr(node, "classlabels_strings") or self.attr(node, "classlabels_int64s")
            elif node.op_type in ("ArrayFeatureExtractor", "Gather") and node.input[0] in self.const:
                found = list(np.asarray(self.const[node.input[0]]).reshape(-1))
            if found is not None:
                found = [v.decode() if isinstance(v, bytes) else str(v) for v in found]
                if classes is not None and found != classes:
                    self.refuse(node, "class labels %s differ from %s" % (found, classes))
                classes = found
        return classes


def _one_minus(reader, node, rest):
    """node is skl2onnx's 1 - p: a Sub from the constant 1 whose result only a Concat reads (which
    head() checks is [1 - p, p]); anything else would change the outputs micronn drops."""
    import numpy as np
    c = reader.const.get(node.input[0])
    if c is None or np.asarray(c).size != 1 or float(np.asarray(c).reshape(-1)[0]) != 1.0:
        return False
    if node.output[0] in reader.outputs:
        return False
    users = [n for n in rest if node.output[0] in n.input]
    return bool(users) and all(n.op_type == "Concat" for n in users)


def _shape(tt):
    return "[%s]" % ", ".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                              for d in tt.shape.dim)
