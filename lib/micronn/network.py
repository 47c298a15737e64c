"""A fully connected network that trains by backpropagation, the same on CPython and MicroPython."""
import sys
from math import sqrt

from . import activations, exact, kernels, losses
from .data import Order, check_rows, copy_row, float_typecode, length, number, whole_number, zeros
from .meta import Meta, top
from .rng import Random
from .sizes import ITEMSIZE, check_optimizer, param_count, training_nbytes

# the dense kernels and load_row: kernels.py's on MicroPython, rows.py's (the same arithmetic on
# whole rows) on CPython
if getattr(sys, "implementation", None) and sys.implementation.name == "cpython":
    from . import rows as dense
else:
    dense = kernels
_WRITES = dense is not kernels      # CPython: fuse.py writes the float path out for a network

INITS = ("uniform", "xavier", "he")
_INF = float("inf")


def _f32(x):
    """x rounded to float32 (a float32 runtime's floats are already)."""
    import array
    return array.array("f", (x,))[0]


class Dense:
    """One fully connected layer (kind 0: convolutions and pooling are micronn.conv's).

    W is a flat array of n_out rows of n_in weights (W[j*n_in + i] joins input i to output j);
    b is an array of n_out biases or None.  out and delta are per-sample scratch lists, made
    on first use: an inference-only network on the integer fast path never needs them.
    """

    kind = 0

    def __init__(self, n_in, n_out, activation, bias, dtype):
        self.n_in = n_in
        self.n_out = n_out
        self.activation = activation
        self.act_forward, self.act_backward = activations.get(activation)
        self.W = zeros(dtype, n_in * n_out)
        self.b = zeros(dtype, n_out) if bias else None
        self.has_b = 1 if bias else 0
        self.out = None                 # activated outputs of the last forward pass
        self.delta = None               # dL/dz of the last backward pass
        self.GW = self.Gb = None        # gradient sums, made when a batch or optimizer needs them

    def outputs(self):
        """The list this layer's activated outputs go into."""
        if self.out is None:
            self.out = [0.0] * self.n_out
        return self.out

    def forward(self, x):
        out = self.out
        if out is None:
            out = self.outputs()
        dense.dense_forward(x, self.W, self.b, self.has_b, self.n_in, self.n_out, out)
        self.act_forward(out, self.n_out)
        return out

    def prepare_training(self):
        self.outputs()
        if self.delta is None:
            self.delta = [0.0] * self.n_out

    def params(self):
        return [self.W] if self.b is None else [self.W, self.b]


class Network(Meta):
    """Dense layers of the given sizes, e.g. Network([3, 4, 1]) for the article's network; or
    a list of layer specs with 1-D convolutions and pooling before the dense layers, e.g.
    Network(["50x3", "conv8k5", "maxpool2", 16, 3]) (micronn.layers).

    activation: the hidden layers' activation (a name, or a list with one name per hidden
    layer with weights: convolutions and hidden dense layers); output: the output layer's
    (defaults to activation); bias: whether layers have biases; init: "uniform" ([0, 1) like the article), "xavier" or "he" (default: he for
    relu-like hidden layers, else xavier; False leaves zeros); seed: for init and shuffling
    (None: a random seed); dtype: "f" (float32 weights, 4 bytes each) or "d" (float64).
    """

    # CPython: what predict() calls (_predictor: the float path written out as one function by
    # fuse.py, or the kernels' way), made on first use; `written = False` keeps to the kernel
    # calls (what tests compare with)
    _fwd = None
    _step = None            # (loss, online, first gradient sums, the step written out for them)
    written = True

    def __init__(self, layers, activation="sigmoid", output=None, bias=True, init=None, seed=None,
                 dtype="f"):
        spec = None
        if _specs(layers):          # convolutions (micronn.conv reads the specs)
            from .conv import parse
            spec, sizes, n_hidden, named = parse(layers, activation)
            hidden = _hidden_activations(named, n_hidden)
        else:
            sizes = _check_sizes(layers)
            hidden = _hidden_activations(activation, len(sizes) - 2)
        if output is None:
            output = activation if isinstance(activation, str) else "linear"
        activations.check(output)
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("softmax output needs at least 2 units, the output layer has %d" % sizes[-1])
        if dtype not in ITEMSIZE:
            raise ValueError("unknown dtype %r; expected 'f' (float32) or 'd' (float64)" % (dtype,))
        self.sizes = sizes
        self.dtype = dtype
        self.bias = bool(bias)
        acts = hidden + [output]
        self.spec = None            # the layer specs (micronn.layers) of a network with convolutions
        if spec is None:
            self.layers = [Dense(sizes[l], sizes[l + 1], acts[l], self.bias, dtype)
                           for l in range(len(sizes) - 1)]
        else:
            from .conv import build
            self.spec = spec.entries()
            self.layers = build(spec, acts, self.bias, dtype, Dense)
        self._x = [0.0] * sizes[0]
        self._xd = self._t = None   # a sample and its targets rounded to dtype
        self.rng = Random(seed)
        self._opt = None
        self.loss = None            # name of the loss of the last fit()
        # forward and backward passes through the integer kernels of exact.py (float32, under
        # viper only)
        self.fast = kernels.VIPER and dtype == "f"
        self._exact = None
        if init is None:
            init = "he" if hidden and hidden[0] in ("relu", "leaky_relu") else "xavier"
        if init is not False:       # False: leave zeros, the weights are about to be loaded
            self.init(init)

    # -- description ---------------------------------------------------------------------------

    @property
    def activations(self):
        return [L.activation for L in self.layers]

    @property
    def n_params(self):
        return param_count(self.spec or self.sizes, self.bias)

    @property
    def nbytes(self):
        """Bytes of parameter storage (the arrays' contents)."""
        return self.n_params * ITEMSIZE[self.dtype]

    def describe(self):
        """What the file format records of the model besides its buffers (meta.Meta included)."""
        d = {"layers": self.sizes, "activations": self.activations, "bias": self.bias, "dtype": self.dtype}
        if self.spec is not None:
            d["spec"] = self.spec
        d.update(self.meta())
        return d

    def buffers(self):
        """The parameter arrays in file order (sizes.layout): per layer W, then b."""
        return [p for L in self.layers for p in L.params()]

    def __repr__(self):
        return "Network(%s, activations=%s, bias=%s, dtype=%r, params=%d)" % (
            "-".join(str(s) for s in self.spec or self.sizes), self.activations, self.bias, self.dtype,
            self.n_params)

    # -- weights -------------------------------------------------------------------------------

    def init(self, method="xavier"):
        """Draw new initial weights from the network's generator; biases start at zero."""
        if method not in INITS:
            raise ValueError("unknown init %r; expected one of %s" % (method, ", ".join(INITS)))
        rng = self.rng
        for L in self.layers:
            if L.kind:
                L.init_weights(rng, method)
                continue
            W, n_in, n_out = L.W, L.n_in, L.n_out
            if method != "uniform":
                # the same float32 bits where floats are float64 and on a float32 board: the
                # bound is rounded to float32 as a float32 board computes it (quotient and
                # square root each rounded once, which float64 then float32 also gives), and
                # each weight is one product of it with 2r - 1, exact in both
                hi = _f32(sqrt(_f32(6.0 / (n_in + (n_out if method == "xavier" else 0)))))
            for i in range(n_in):           # draw in get_weights() order: W[i][j]
                for j in range(n_out):
                    r = rng.random()        # 24 random bits: exact in float32
                    W[j * n_in + i] = r if method == "uniform" else hi * (2.0 * r - 1.0)
            if L.b is not None:
                kernels.fill(L.b, n_out, 0.0)
        self._opt = None

    def get_weights(self):
        """[[W, b], ...] with W as nested lists of shape [n_in][n_out] and b a list (or None); a
        convolution's W is [kernel][channels][filters], and a pooling layer's entry is None."""
        out = []
        for L in self.layers:
            if L.kind:
                out.append(L.get_weights())
                continue
            W, n_in = L.W, L.n_in
            rows = [[W[j * n_in + i] for j in range(L.n_out)] for i in range(n_in)]
            out.append([rows, None if L.b is None else list(L.b)])
        return out

    def set_weights(self, weights):
        """Replace all weights; the argument has the shape get_weights() returns.

        Everything is checked before anything is changed.
        """
        if length(weights) != len(self.layers):
            raise ValueError("set_weights needs one [W, b] pair per layer (%d), got %s"
                             % (len(self.layers), _count(weights)))
        staged = []
        for l, L in enumerate(self.layers):
            pair = weights[l]
            if L.kind:
                staged.append(L.stage(pair, l, self.dtype, _weight))
                continue
            if length(pair) != 2:
                raise ValueError("layer %d: expected a [W, b] pair, got %s" % (l, _count(pair)))
            Wn, bn = pair
            W = zeros(self.dtype, L.n_in * L.n_out)
            if length(Wn) != L.n_in:
                raise ValueError("layer %d: W must have %d rows (inputs), got %s" % (l, L.n_in, _count(Wn)))
            for i in range(L.n_in):
                row = Wn[i]
                if length(row) != L.n_out:
                    raise ValueError("layer %d: W row %d must have %d values (outputs), got %s"
                                     % (l, i, L.n_out, _count(row)))
                for j in range(L.n_out):
                    W[j * L.n_in + i] = _weight(row[j], l, "W[%d][%d]", (i, j))
            if L.b is None:
                if bn is not None:
                    raise ValueError("layer %d: this network has no biases, but b is given" % l)
                b = None
            else:
                if length(bn) != L.n_out:
                    raise ValueError("layer %d: b must have %d values, got %s" % (l, L.n_out, _count(bn)))
                b = zeros(self.dtype, L.n_out)
                for j in range(L.n_out):
                    b[j] = _weight(bn[j], l, "b[%d]", (j,))
            staged.append((W, b))
        for L, (W, b) in zip(self.layers, staged):
            L.W, L.b = W, b
        self._opt = None
        if self._fwd is not None or self._step is not None:
            self._fwd = self._step = None   # they read the arrays that are gone

    # -- inference -----------------------------------------------------------------------------

    def _engine(self):
        """The integer-kernel passes (exact.Exact) when self.fast, else None (the float kernels)."""
        if not self.fast:
            return None
        if self._exact is None:
            self._exact = exact.Exact(self.layers)
        return self._exact

    def _forward(self, x):
        """The outputs for one sample (each layer's also kept, for backpropagation)."""
        if self.fast:
            eng = self._engine()
            if x is not eng.x:
                exact.to_f32(x, eng.x, len(eng.x))
            return eng.forward(self.layers)
        for L in self.layers:
            x = L.forward(x)
        return x

    def _written(self, training=True):
        """Whether this network's float path can run as functions written out by fuse.py (on
        CPython, dense layers only), with every buffer they read made."""
        if not _WRITES or not self.written or self.fast or any(L.kind for L in self.layers):
            return False
        for L in self.layers:
            L.outputs()
        self._rounded_input()
        if training:
            if self._t is None:
                self._t = zeros(self.dtype, self.sizes[-1])
            for L in self.layers:
                L.prepare_training()
        return True

    def _written_step(self, loss, online):
        """_sample written out for this loss (fuse.py): online SGD, or adding to the gradient
        sums (made first: the function reads them); None when it cannot be."""
        if not self.written:
            return None
        made = self._step
        G = self.layers[0].GW
        if made is not None and made[0] == loss and made[1] == online and made[2] is G:
            return made[3]
        step = None
        if self._written():
            from . import fuse
            step = fuse.step(self, loss, online)
        self._step = (loss, online, G, step)
        return step

    def _layer_outputs(self):
        """Each layer's outputs of the last _forward()."""
        eng = self._engine()
        return eng.outs if eng is not None else [L.outputs() for L in self.layers]

    def _load_input(self, x):
        """One sample, checked, in the buffer _forward() reads it from fastest (and scaled there
        when the model scales its inputs)."""
        n = self.sizes[0]
        m = length(x)
        if self.fast and m == n:
            eng = self._engine()
            try:                    # every float32 finite: the common case, no float object
                exact.to_f32(x, eng.x, n)
                if exact.finite(eng.x, 0, n):
                    return self._scaled(eng.x)
            except TypeError:
                pass
        if m < 0:
            raise ValueError("predict needs one sample of %d numbers, got %r" % (n, x))
        if m != n:
            raise ValueError("sample has %d values, expected %d (the network has %d inputs)" % (m, n, n))
        x0, xd = self._x, self._rounded_input()
        copy_row(x, 0, n, xd, 0, "input")
        dense.load_row(xd, 0, x0, n)
        if self.scaler is not None:
            x0 = self._scaled(x0)
        return x0

    def _rounded_input(self):
        """The buffer a sample is rounded to the network's dtype in, as the weights are (fit,
        evaluate and every predict round the same way)."""
        xd = self._xd
        if xd is None:
            xd = self._xd = zeros(self.dtype, self.sizes[0])
        return xd

    def _scaled(self, x):
        """x (a scratch buffer of the network's), scaled in place when the model scales its inputs."""
        if self.scaler is not None:
            self.scaler.apply(x)
        return x

    def predict(self, x):
        """Outputs (a list) for one sample."""
        if _WRITES and self.written and not self.fast and length(x) == self.sizes[0]:  # CPython: fuse.py
            return list((self._fwd or self._predictor())(x))
        return list(self._forward(self._load_input(x)))

    def _predictor(self):
        """What predict() calls for a sample of the right length: its float path written out
        (fuse.py), else the kernels' way."""
        f = None
        if self._written(False):
            from . import fuse
            f = fuse.predict(self)
        if f is None:
            f = self._predict_kernels
        self._fwd = f
        return f

    def _predict_kernels(self, x):
        return self._forward(self._load_input(x))

    def predict_many(self, X):
        """Outputs for each sample of X (a list of lists)."""
        n, flat = self._check_x(X)
        n_in = self.sizes[0]
        eng = self._engine()
        words = float_typecode(X) == "f" if flat else getattr(X, "streamed", False)
        out = []
        for i in range(n):
            src, off = (X, i * n_in) if flat else (X[i], 0)
            out.append(list(self._forward(self._load(eng, src, off, words))))
        return out

    def evaluate(self, X, Y, loss=None, accuracy=False):
        """The loss over a whole data set, defined as in fit().  accuracy=True: (loss, the
        fraction of rows whose class, the largest output, is the target's: meta.top)."""
        loss = self.check_loss(loss)
        n, xflat, yflat, words = self._check_xy(X, Y)
        n_in, n_out = self.sizes[0], self.sizes[-1]
        eng = self._engine()
        scratch = [0.0] * n_out
        total = 0.0
        right = 0
        for i in range(n):
            src, off = (X, i * n_in) if xflat else (X[i], 0)
            y = self._forward(self._load(eng, src, off, words))
            T = self._target(Y, i * n_out if yflat else 0, Y if yflat else Y[i])
            total += losses.output_delta(loss, y, T, 0, n_out, scratch, 0.0)
            if accuracy and top(y, 0, n_out) == top(T, 0, n_out):
                right += 1
        value = losses.mean(loss, total, n, n_out)
        return (value, right / n) if accuracy else value

    def _load(self, eng, src, off, words):
        """Sample src[off:off+n_in] (already checked) into the input buffer of the path in use,
        scaled there when the model scales its inputs.

        The float path gets it rounded to the network's dtype first, as the weights are.
        """
        n = self.sizes[0]
        if eng is not None:
            eng.load(src, off, words)
            return self._scaled(eng.x)
        xd, x = self._rounded_input(), self._x
        dense.load_row(src, off, xd, n)
        dense.load_row(xd, 0, x, n)
        if self.scaler is not None:
            self.scaler.apply(x)
        return x

    def _target(self, Y, off, src):
        """Targets src[off:off+n_out] rounded to the network's dtype, as the weights are."""
        t = self._t
        if t is None:
            t = self._t = zeros(self.dtype, self.sizes[-1])
        dense.load_row(src, off, t, len(t))
        return t

    # -- training ------------------------------------------------------------------------------

    def _backward(self, x, Y, off, loss, s, lr):
        """Backpropagate (float kernels) one sample whose forward pass just ran; return its loss
        term.  lr is a number: step the weights now (online SGD); None: add to the gradient sums.
        """
        layers = self.layers
        l = len(layers) - 1
        L = layers[l]
        value = losses.output_delta(loss, L.out, Y, off, L.n_out, L.delta, s)
        if not losses.combined(loss):
            L.act_backward(L.delta, L.out, L.n_out)
        while l >= 0:
            if l:
                prev = layers[l - 1]
                inp, dprev, has_prev = prev.out, prev.delta, 1
            else:
                inp, dprev, has_prev = x, None, 0
            if L.kind:
                L.backward(inp, dprev, has_prev, lr)
            elif lr is None:
                dense.dense_backward_acc(inp, L.W, L.GW, L.Gb, L.has_b, L.n_in, L.n_out, L.delta, dprev, has_prev)
            else:
                dense.dense_backward_sgd(inp, L.W, L.b, L.has_b, L.n_in, L.n_out, L.delta, dprev, has_prev, lr)
            if l:
                prev.act_backward(dprev, inp, prev.n_out)
                L = prev
            l -= 1
        return value

    def _sample(self, eng, X, Y, i, xflat, yflat, words, loss, s, lr):
        """Forward and backward for sample i of a checked data set; its loss term."""
        sizes = self.sizes
        T = self._target(Y, i * sizes[-1] if yflat else 0, Y if yflat else Y[i])
        x = self._load(eng, X, i * sizes[0], words) if xflat else self._load(eng, X[i], 0, words)
        if eng is not None:
            eng.forward(self.layers)
            return eng.backward(self.layers, T, 0, loss, s, lr)
        out = x
        for L in self.layers:           # (_forward's float path)
            out = L.forward(out)
        return self._backward(x, T, 0, loss, s, lr)

    def _prepare_training(self, eng):
        if eng is None:
            for L in self.layers:
                L.prepare_training()

    def _grad_buffers(self):
        """Make the gradient sums (once) and zero them."""
        for L in self.layers:
            if L.W is None:             # pooling
                continue
            if L.GW is None:
                L.GW = zeros(self.dtype, len(L.W))
                L.Gb = zeros(self.dtype, len(L.b)) if L.b is not None else None
            else:
                kernels.fill(L.GW, len(L.GW), 0.0)
                if L.Gb is not None:
                    kernels.fill(L.Gb, len(L.Gb), 0.0)

    def release(self):
        """Let go of what training keeps between fit() calls (the gradient sums and the optimizer's
        moments): the heap they take, on a board, is then free for saving the model.  A later
        fit() makes them again (an optimizer with moments starts afresh)."""
        for L in self.layers:
            L.GW = L.Gb = None
        self._opt = None

    def gradient(self, X, Y, loss=None):
        """The gradient of evaluate(X, Y, loss) with respect to every weight, shaped like get_weights()."""
        loss = self.check_loss(loss)
        n, xflat, yflat, words = self._check_xy(X, Y)
        eng = self._engine()
        self._prepare_training(eng)
        self._grad_buffers()
        s = losses.scale(loss, self.sizes[-1], n)
        for i in range(n):
            self._sample(eng, X, Y, i, xflat, yflat, words, loss, s, None)
        out = []
        for L in self.layers:
            if L.kind:
                out.append(None if L.W is None else L.shaped(L.GW, L.Gb))
                continue
            G, n_in = L.GW, L.n_in
            out.append([[[G[j * n_in + i] for j in range(L.n_out)] for i in range(n_in)],
                        None if L.Gb is None else list(L.Gb)])
        return out

    def fit(self, X, Y, epochs=1, lr=0.1, loss="mse", batch_size=None, optimizer="sgd", shuffle=True,
            callback=None, every=1, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8, scale=None):
        """Train by backpropagation; return the loss of the last epoch.

        loss: "sse" (the article's), "mse", "bce" (sigmoid output) or "cce" (softmax output).
        batch_size: None for full batch (the article), 1 for online, n for mini-batches.
        optimizer: "sgd", "momentum" or "adam".  The loss of an epoch is measured during its
        forward passes, before each step.  callback(epoch, loss) runs every `every` epochs and
        after the last one; returning False stops training.  scale ("standard" or "minmax"): when
        the network has no input scaler yet, fit one on X first (scale.Scaler); it is kept in the
        model, so every later fit, predict and save takes and keeps raw inputs.

        X and Y are read where they are (lists of rows, or flat arrays such as a board reads
        from a file): nothing the size of the data set is allocated.
        """
        loss = self.check_loss(loss)
        check_fit(epochs, lr, batch_size, optimizer, every, scale)
        if callback is not None and not callable(callback):
            raise ValueError("callback must be callable")
        n, xflat, yflat, words = self._check_xy(X, Y)
        if scale not in (None, "none") and self.scaler is None:
            from .scale import fit
            self.scaler = fit(X, self.sizes[0], scale)
        bs = n if batch_size is None else min(batch_size, n)
        eng = self._engine()
        self._prepare_training(eng)
        online_sgd = optimizer == "sgd" and bs == 1
        if not online_sgd:              # online SGD steps inside backpropagation instead
            self._grad_buffers()
            opt = self._optimizer(optimizer, momentum, beta1, beta2, eps)
        n_out = self.sizes[-1]
        order = Order(n) if shuffle and bs < n else range(n)
        step = self._written_step(loss, online_sgd) if eng is None else None
        rng = self.rng
        self.loss = loss
        value = None
        for epoch in range(1, epochs + 1):
            if shuffle and bs < n:
                rng.shuffle(order)
            total = 0.0
            if online_sgd:
                s = losses.scale(loss, n_out, 1)
                if step is not None:
                    total = _run_written(step, X, Y, order, 0, n, xflat, yflat, self.sizes[0], n_out, s, lr)
                else:
                    for i in order:
                        total += self._sample(eng, X, Y, i, xflat, yflat, words, loss, s, lr)
            else:
                for start in range(0, n, bs):
                    stop = min(start + bs, n)
                    self._grad_buffers()
                    s = losses.scale(loss, n_out, stop - start)
                    batch = 0.0
                    if step is not None:
                        batch = _run_written(step, X, Y, order, start, stop, xflat, yflat, self.sizes[0], n_out,
                                             s, None)
                    else:
                        for p in range(start, stop):
                            batch += self._sample(eng, X, Y, order[p], xflat, yflat, words, loss, s, None)
                    total += batch
                    opt.step(lr, None if eng is None else exact.fma)
            value = losses.mean(loss, total, n, n_out)
            if value - value != 0.0:
                raise ValueError("training diverged at epoch %d: the loss is %s; try a smaller lr than %s"
                                 % (epoch, value, lr))
            if callback is not None and (epoch % every == 0 or epoch == epochs):
                if callback(epoch, value) is False:
                    break
        return value

    def _optimizer(self, name, momentum, beta1, beta2, eps):
        from .optim import Optimizer
        opt = self._opt
        if opt is None or opt.name != name:
            pairs = []
            for L in self.layers:
                if L.W is None:
                    continue
                pairs.append((L.W, L.GW))
                if L.b is not None:
                    pairs.append((L.b, L.Gb))
            dtype = self.dtype
            opt = Optimizer(name, pairs, lambda n: zeros(dtype, n), momentum, beta1, beta2, eps)
            self._opt = opt     # kept so that a second fit() continues with the same moments
        return opt

    def training_nbytes(self, optimizer="sgd", batch_size=None):
        """Bytes of training state on top of the parameters: gradient sums and optimizer moments."""
        return training_nbytes(self.spec or self.sizes, self.bias, self.dtype, optimizer, batch_size)

    # -- checks --------------------------------------------------------------------------------

    def check_loss(self, loss):
        """The loss name to use (None: the last fit's, else mse), checked against the output layer."""
        if loss is None:
            loss = self.loss or "mse"
        return losses.check(loss, self.layers[-1].activation)

    def _check_x(self, X):
        n = self.sizes[0]
        return check_rows(X, n, "X", "the network has %d inputs" % n)

    def _check_xy(self, X, Y):
        """Check a data set where it is; (samples, X flat, Y flat, X's rows float32: a float32
        array, or the rows of a data file)."""
        n, xflat = self._check_x(X)
        k = self.sizes[-1]
        ny, yflat = check_rows(Y, k, "Y", "the network has %d outputs" % k)
        if ny != n:
            raise ValueError("X has %d samples but Y has %d" % (n, ny))
        return n, xflat, yflat, float_typecode(X) == "f" if xflat else getattr(X, "streamed", False)

    # -- files ---------------------------------------------------------------------------------

    def save(self, path, format="mnn"):
        """Write the model atomically: binary .mnn (default) or format="json"."""
        from . import store
        if format == "mnn":
            store.save(path, store.header(self.describe()), self.buffers())
        elif format == "json":
            store.save_json(path, self.describe(), self.get_weights())
        else:
            raise ValueError("unknown model format %r; expected 'mnn' or 'json'" % (format,))




def _run_written(step, X, Y, order, start, stop, xflat, yflat, n_in, n_out, s, lr):
    """The sum of the loss terms of samples order[start:stop] run by a step fuse.py wrote (which
    reads the rows as Network._sample does: flat, or a list of rows)."""
    total = 0.0
    if xflat or yflat:
        for p in range(start, stop):
            i = order[p]
            total += step(X if xflat else X[i], i * n_in if xflat else 0, Y if yflat else Y[i],
                          i * n_out if yflat else 0, s, lr)
    else:
        for p in range(start, stop):
            i = order[p]
            total += step(X[i], 0, Y[i], 0, s, lr)
    return total


def check_fit(epochs, lr, batch_size=None, optimizer="sgd", every=1, scale=None):
    """fit()'s rules for its numeric options, optimizer and scaling (ValueError saying which is
    wrong)."""
    whole_number(epochs, "epochs", 1)
    whole_number(every, "every", 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < _INF:
        raise ValueError("lr must be a finite number > 0, got %r" % (lr,))
    if batch_size is not None:
        whole_number(batch_size, "batch_size", 1)
    check_optimizer(optimizer)
    if scale not in (None, "none", "standard", "minmax"):
        raise ValueError("unknown scaling %r; expected standard, minmax or none" % (scale,))


def _check_sizes(layers):
    if length(layers) < 2:
        raise ValueError("layers must list at least an input and an output size, e.g. [3, 4, 1]; got %r"
                         % (layers,))
    if len(layers) > 256:
        raise ValueError("at most 255 layers, got %d" % (len(layers) - 1))
    for k, s in enumerate(layers):
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 65535:
            raise ValueError("layer size %d is %r; sizes must be whole numbers from 1 to 65535" % (k, s))
    return list(layers)


def _specs(layers):
    """Whether a layer list holds layer specs (strings, an input shape) beside sizes."""
    if isinstance(layers, (list, tuple)):
        for v in layers:
            if isinstance(v, (str, list, tuple)):
                return True
    return False


def _hidden_activations(activation, n_hidden):
    if isinstance(activation, str):
        names = [activation] * n_hidden
    else:
        names = list(activation)
        if len(names) != n_hidden:
            raise ValueError("activation lists %d names, but the network has %d hidden layers"
                             % (len(names), n_hidden))
    for a in names:
        activations.check(a)
        if a == "softmax":
            raise ValueError("softmax is only allowed as the output activation")
    return names



def _weight(v, layer, fmt, idx):
    try:
        return number(v)
    except ValueError as e:
        raise ValueError(("layer %d: " + fmt + ": %s") % ((layer,) + idx + (e,)))


def _count(v):
    return "%d items" % length(v) if length(v) >= 0 else repr(v)
