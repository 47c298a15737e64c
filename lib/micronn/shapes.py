"""Layer specs read on a board: the shapes, parameter counts and buffer layout of a network with
1-D convolutions and pooling, and the file format's layer table.  micronn.layers (the spec syntax,
its builders and the command line's form) and micronn.conv (the layers) use it; a board
training a network with convolutions holds it, so it is kept to what that needs.  It imports
nothing of micronn.
"""
DENSE, CONV, MAXPOOL, AVGPOOL, GAP = range(5)      # layer kinds, also the file format's codes
INT8_CONV_ROW = 17      # ints per layer in the table of an int8 model with convolutions (qconv.py)
POOLS = {"maxpool": MAXPOOL, "pool": MAXPOOL, "avgpool": AVGPOOL}
NAMES = {MAXPOOL: "maxpool", AVGPOOL: "avgpool"}
SYNTAX = ("layer specs: LENGTHxCHANNELS first (e.g. 50x3), then conv<filters>k<kernel>[s<stride>][same], "
          "maxpool<size>, avgpool<size>, gap, then dense sizes, e.g. 50x3,conv8k5,maxpool2,16,3")


def padding(L, K, stride, same):
    """(output length, inputs padded on the left) of a convolution of kernel K over a window of L
    readings."""
    if not same:
        return (L - K) // stride + 1, 0
    out = (L + stride - 1) // stride
    total = (out - 1) * stride + K - L
    return out, (total // 2 if total > 0 else 0)


# -- reading specs -----------------------------------------------------------------------------------

def _whole(v, name):
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise ValueError("%s must be a whole number from 1 to 65535, got %r" % (name, v))
    return v


def is_spec(layers):
    """Whether a layer list holds layer specs (strings, an input shape) beside sizes."""
    if isinstance(layers, (list, tuple)):
        for v in layers:
            if isinstance(v, (str, list, tuple)):
                return True
    return False


def _number(text, what, entry):
    if not text or not text.isdigit():
        raise ValueError("%r: expected %s; %s" % (entry, what, SYNTAX))
    v = int(text)
    if not 1 <= v <= 65535:
        raise ValueError("%r: %s must be from 1 to 65535; %s" % (entry, what, SYNTAX))
    return v


def _digits(text):
    """(the leading digits of text, the rest)."""
    k = 0
    while k < len(text) and text[k].isdigit():
        k += 1
    return text[:k], text[k:]


def _entry(v, k):
    """(row, activation or None) of one entry after the input; row is (kind, a, b, c, d):
    dense (n_out), conv (filters, kernel, stride, same), maxpool/avgpool (size), gap."""
    if isinstance(v, int) and not isinstance(v, bool):
        if not 1 <= v <= 65535:
            raise ValueError("layer size %d is %r; sizes must be whole numbers from 1 to 65535" % (k, v))
        return (DENSE, v, 0, 0, 0), None
    if not isinstance(v, str):
        raise ValueError("layer %d is %r; expected a size or a layer spec; %s" % (k, v, SYNTAX))
    text = v.strip().lower()
    act = None
    if ":" in text:
        text, act = text.split(":", 1)
    if text.isdigit():
        return (DENSE, _number(text, "a layer size", v), 0, 0, 0), act
    if text.startswith("conv"):
        f, rest = _digits(text[4:])
        filters = _number(f, "conv<filters>", v)
        if not rest.startswith("k"):
            raise ValueError("%r: expected conv<filters>k<kernel>; %s" % (v, SYNTAX))
        kk, rest = _digits(rest[1:])
        kernel = _number(kk, "the kernel size after k", v)
        stride, same = 1, 0
        if rest.startswith("s") and not rest.startswith("same"):
            ss, rest = _digits(rest[1:])
            stride = _number(ss, "the stride after s", v)
        if rest in ("same", "valid"):
            same = 1 if rest == "same" else 0
        elif rest:
            raise ValueError("%r: unexpected %r; %s" % (v, rest, SYNTAX))
        return (CONV, filters, kernel, stride, same), act
    if act is not None:
        raise ValueError("%r: pooling has no activation" % (v,))
    if text in ("gap", "globalavgpool"):
        return (GAP, 0, 0, 0, 0), None
    for name in ("maxpool", "avgpool", "pool"):
        if text.startswith(name):
            return (POOLS[name], _number(text[len(name):], name + "<size>", v), 0, 0, 0), None
    raise ValueError("%r is not a layer spec; %s" % (v, SYNTAX))


def _input(v):
    """(length, channels) of the first entry: "50x3" or [50, 3]."""
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return _whole(v[0], "the input length"), _whole(v[1], "the input channels")
    if isinstance(v, str) and "x" in v.lower():
        a, b = v.lower().split("x", 1)
        return _number(a.strip(), "LENGTHxCHANNELS", v), _number(b.strip(), "LENGTHxCHANNELS", v)
    if isinstance(v, int) and not isinstance(v, bool):
        return None
    raise ValueError("the first entry %r must give the input as LENGTHxCHANNELS, e.g. 50x3; %s" % (v, SYNTAX))


class Spec:
    """A parsed layer list: the input's (length, channels), one row per layer (kind, a, b, c, d),
    each layer's output shape (length, channels) and flat width, its activation given in the
    spec (or None), and which layers have weights."""

    def __init__(self, layers):
        try:
            n = len(layers)
        except TypeError:
            n = -1
        if isinstance(layers, (str, bytes)) or n < 2:
            raise ValueError("layers must list at least an input and an output, e.g. [\"50x3\", "
                             "\"conv8k5\", 3]; got %r" % (layers,))
        if n > 256:
            raise ValueError("at most 255 layers, got %d" % (n - 1))
        shape = _input(layers[0])
        if shape is None:
            v = layers[0]
            if not 1 <= v <= 65535:
                raise ValueError("layer size 0 is %r; sizes must be whole numbers from 1 to 65535" % (v,))
            shape = (1, v)
            flat_in = True
        else:
            flat_in = False
        self.input = shape
        self.rows, self.acts, self.shapes = [], [], []
        dense = False
        L, C = shape
        for k in range(1, n):
            row, act = _entry(layers[k], k)
            kind = row[0]
            if kind == DENSE:
                dense = True
                L, C = 1, row[1]
            else:
                if dense or flat_in:
                    raise ValueError("%r after %s: convolutions and pooling come first, on an input given "
                                     "as LENGTHxCHANNELS (e.g. 50x3)" % (layers[k], "a dense layer" if dense
                                                                         else "a flat input of %d" % C))
                L, C = self._shape(layers[k], row, L, C)
            self.rows.append(row)
            self.acts.append(act)
            self.shapes.append((L, C))
        if self.rows[-1][0] != DENSE:
            raise ValueError("the last layer must be dense (the outputs), e.g. ...,16,3; got %r" % (layers[-1],))
        self.widths = [shape[0] * shape[1]] + [a * b for a, b in self.shapes]
        for w in self.widths:
            if w > 65535:
                raise ValueError("a layer of %d values; at most 65535 (%s)" % (w, self.text()))

    @staticmethod
    def _shape(entry, row, L, C):
        kind, a, b, c, d = row
        if kind == CONV:
            if d:
                return (L + c - 1) // c, a
            if b > L:
                raise ValueError("%r: a kernel of %d readings on a window of %d (use a smaller kernel, or "
                                 "'same' padding)" % (entry, b, L))
            return (L - b) // c + 1, a
        if kind == GAP:
            return 1, C
        if a > L:
            raise ValueError("%r: pooling %d readings of a window of %d" % (entry, a, L))
        return L // a, C

    def in_shape(self, l):
        """(length, channels) of layer l's input."""
        return self.input if l == 0 else self.shapes[l - 1]

    def weighted(self):
        """Indexes of the layers with weights (conv and dense)."""
        return [l for l in range(len(self.rows)) if self.rows[l][0] in (DENSE, CONV)]

    def entries(self):
        """The canonical spec list (without activations): ["50x3", "conv8k5", "maxpool2", 16, 3]."""
        return ["%dx%d" % self.input] + [_spell(row) for row in self.rows]

    def text(self):
        return "-".join(str(v) for v in self.entries())

    def param_count(self, bias=True):
        total = 0
        for l in self.weighted():
            total += self.weights(l) + (self.units(l) if bias else 0)
        return total

    def units(self, l):
        """Rows of weights of layer l: filters or dense units."""
        return self.rows[l][1]

    def weights(self, l):
        """Weights of layer l (0 for pooling)."""
        kind, a, b = self.rows[l][:3]
        L, C = self.in_shape(l)
        if kind == CONV:
            return a * b * C
        if kind == DENSE:
            return a * L * C
        return 0

    def training_extra(self, bias, online):
        """Values training keeps besides sizes.training_nbytes' count: each convolution's weights
        transposed (the integer path's input gradient) and, for online SGD, its gradient (summed
        over the positions before the step)."""
        n = 0
        for l in self.weighted():
            if self.rows[l][0] == CONV:
                n += self.weights(l) + (self.weights(l) + (self.units(l) if bias else 0) if online else 0)
        return n

    def check_activations(self, acts):
        """The activations of the hidden layers with weights, from one per layer as a file has
        them (pooling must have linear)."""
        for l in range(len(self.rows)):
            if self.rows[l][0] > CONV and acts[l] != "linear":
                raise ValueError("corrupted: layer %d (%s) is pooling, with activation %s"
                                 % (l, self.entries()[l + 1], acts[l]))
        return [acts[l] for l in self.weighted()[:-1]]

    def layout(self, bias, dtype):
        """[(typecode, length)] of a model's buffers in file order.  Float models: per layer with
        weights, W then b if biased (pooling has none).  int8 models (dtype "b", qconv.py): the
        layer table, the scales, the weight bytes, the row constants as uint16 halves."""
        w = self.weighted()
        if dtype == "b":
            n = len(self.rows)
            return [("i", INT8_CONV_ROW * n), ("f", n + 1), ("B", sum(self.weights(l) for l in w)),
                    ("H", 2 * sum(self.units(l) for l in w))]
        out = []
        for l in self.weighted():
            out.append((dtype, self.weights(l)))
            if bias:
                out.append((dtype, self.units(l)))
        return out


def _spell(row):
    kind, a, b, c, d = row
    if kind == DENSE:
        return a
    if kind == CONV:
        return "conv%dk%d%s%s" % (a, b, "s%d" % c if c != 1 else "", "same" if d else "")
    if kind == GAP:
        return "gap"
    return "%s%d" % (NAMES[kind], a)


def widths(layers):
    """The flat width of the input and of each layer's outputs: the layer sizes themselves for a
    dense network."""
    return Spec(layers).widths if is_spec(layers) else list(layers)


# -- the file format's layer table ---------------------------------------------------------------------

def encode(spec):
    """The LAYR section's body: the input's length and channels (uint16), then per layer its kind
    and 'same' flag (uint8) and three uint16 (conv: filters, kernel, stride; pooling: size;
    dense: units), little-endian."""
    out = bytearray()
    _u16(out, spec.input[0])
    _u16(out, spec.input[1])
    for kind, a, b, c, d in spec.rows:
        out.append(kind)
        out.append(d)
        _u16(out, a)
        _u16(out, b)
        _u16(out, c)
    return bytes(out)


def read_table(body, sizes):
    """The canonical spec list of a LAYR section, checked against the header's layer sizes
    (ValueError saying what is wrong)."""
    try:
        spec = Spec(decode(body, len(sizes) - 1))
    except ValueError as e:
        raise ValueError("corrupted: the layer table does not describe a network (%s)" % e)
    if spec.widths != sizes:
        raise ValueError("corrupted: the layer table gives layers of %s values, the header %s" % (spec.widths, sizes))
    return spec.entries()


def decode(body, n_layers):
    """The spec list a LAYR section describes (ValueError when it cannot be one)."""
    if len(body) != 4 + 8 * n_layers:
        raise ValueError("corrupted: the layer table has %d bytes for %d layers" % (len(body), n_layers))
    out = ["%dx%d" % (_get16(body, 0), _get16(body, 2))]
    for l in range(n_layers):
        at = 4 + 8 * l
        kind, d, a, b, c = body[at], body[at + 1], _get16(body, at + 2), _get16(body, at + 4), _get16(body, at + 6)
        if kind == DENSE and not d and not b and not c:
            out.append(a)
        elif kind == CONV and d in (0, 1):
            out.append("conv%dk%ds%d%s" % (a, b, c, "same" if d else ""))
        elif kind in NAMES and not d and not b and not c:
            out.append("%s%d" % (NAMES[kind], a))
        elif kind == GAP and not (d or a or b or c):
            out.append("gap")
        else:
            raise ValueError("corrupted: layer %d of the layer table (kind %d)" % (l, kind))
    return out


def _u16(out, v):
    out.append(v & 0xFF)
    out.append(v >> 8)


def _get16(b, at):
    return b[at] | b[at + 1] << 8
