"""Convolution and pooling layers against the independent NumPy CNN (tests/reference_conv.py),
gradients against finite differences for every layer type, stride and padding, training with
every loss and optimizer, the integer path against the float kernels, and layer specs.  Every
test that takes `rt` runs on every runtime: CPython, the MicroPython unix port, the emulated M4F
board and, when MICRONN_MP32F is set, the float32 unix build.

Precision: with dtype "d" micronn and the reference compute the same sums in float64, in a
different order: outputs, gradients, losses and trained weights agree within 1e-9.  Finite
differences (central, h = 1e-6) agree with the analytic gradient within 1e-6 relative to
max(1, |g|) (their own truncation and rounding error).

Where the runtime's float is float32 (rt.float32), dtype "d" only stores float64: each sum of N
terms is computed in float32, off by at most about N * EPS32 of the sum of its terms' sizes
(EPS32 = 2**-24, the unit roundoff), and each layer of the network adds its own.  Outputs,
gradients and losses agree with the float64 reference within f32_bound(): layers * N * EPS32
relative to max(1, |value|), N the longest sum the network computes (a convolution's K * C
products, a dense layer's inputs, a weight gradient's rows * positions...); trained weights and
loss histories, where every step adds its rounding to weights that carry the earlier steps',
within steps times that.  (Measured on the M4F board and the float32 unix build: at most 0.03
of the bound for outputs and gradients, 0.03 for training.)  Finite differences do not apply
there (float32 rounding of about 6e-8 / 1e-6 in each difference).

On the M4F board's 192 KB heap every case runs as it is: one network (its rows and weights as
JSON) per case of the batch.
"""
import functools
import json

import numpy as np
import pytest

from reference_conv import conv_backward, conv_forward, pool_backward, pool_forward, ref_layers
from conftest import float64_only

# key: code; every case runs once per runtime, all in one interpreter (the `results` fixture);
# the cases of FLOAT64_ONLY are not sent to a float32 runtime, whose tests skip them or do not
# take it
CASES = {}
FLOAT64_ONLY = ("finite", "exact-bits")
EPS32 = 2.0 ** -24


@pytest.fixture(scope="session")
def results():
    def run(rt):
        return rt.run_batch({k: v for k, v in CASES.items() if not (rt.float32 and k[0] in FLOAT64_ONLY)})
    return functools.cache(run)


# (specs, hidden activation, output, loss): every layer type, strides 1 to 3, valid and same
# padding (odd and even kernels, a kernel wider than the window), pooling that drops a remainder
NETS = [
    (["12x2", "conv3k3", "maxpool2", 4, 2], "tanh", "sigmoid", "mse"),
    (["12x2", "conv3k4s2same", "avgpool2", "conv2k2same", "gap", 3, 2], "tanh", "softmax", "cce"),
    (["9x2", "conv3k3s2", 2], "sigmoid", "sigmoid", "bce"),
    (["10x3", "conv4k5same", "maxpool3", "conv2k1", 2], "leaky_relu", "linear", "sse"),
    (["11x1", "conv2k4s3", "avgpool2", 3], "relu", "softmax", "mse"),
    (["8x2", "conv3k2s2same", "gap", 2], "linear", "tanh", "mse"),
    (["5x2", "conv2k7same", "maxpool2", 2], "tanh", "linear", "mse"),
]


def problem(specs, output, seed=0, n=5):
    """Random rows, targets and weights (get_weights() shapes) for a network of these specs."""
    import micronn
    r = np.random.default_rng(seed)
    net = micronn.Network(specs, init=False, dtype="d")
    X = r.uniform(-1, 1, (n, net.sizes[0]))
    k = net.sizes[-1]
    if output == "softmax":
        Y = np.eye(k)[r.integers(0, k, n)]
    else:
        Y = r.uniform(0.05, 0.95, (n, k))
    weights = []
    for w in net.get_weights():
        if w is None:
            weights.append(None)
        else:
            weights.append([r.uniform(-0.6, 0.6, np.shape(w[0])).tolist(),
                            r.uniform(-0.2, 0.2, len(w[1])).tolist()])
    return X.tolist(), Y.tolist(), weights


def cases(seed=0, n=5):
    out = []
    for k, (specs, hidden, output, loss) in enumerate(NETS):
        X, Y, w = problem(specs, output, seed + k, n)
        out.append([specs, hidden, output, loss, X, Y, w])
    return out


def test_the_reference_gradient_agrees_with_finite_differences():
    """The oracle checks itself first (NumPy only)."""
    for specs, hidden, output, loss, X, Y, w in cases(seed=40, n=3):
        ref = ref_layers(specs, w, hidden, output)
        grads = ref.gradient(X, Y, loss)
        h = 1e-6
        for l, layer in enumerate(ref.layers):
            if grads[l] is None:
                continue
            for p in (1, 2):
                P = layer[p]
                flat = P.reshape(-1)
                for i in range(flat.size):
                    v = flat[i]
                    flat[i] = v + h
                    up = ref.loss(X, Y, loss)
                    flat[i] = v - h
                    down = ref.loss(X, Y, loss)
                    flat[i] = v
                    g = grads[l][p - 1].reshape(-1)[i]
                    assert abs((up - down) / (2 * h) - g) <= 1e-6 * max(1.0, abs(g)), (specs, l, p, i)


def test_the_reference_layers_by_hand():
    """A few values worked out on paper: valid and same padding with a stride, both poolings."""
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)                # 1 2 3 4 5, one channel
    W = np.array([1.0, 10.0]).reshape(2, 1, 1)               # y[t] = x[t*s] + 10 x[t*s + 1]
    assert conv_forward(x, W, None, 2, "valid").ravel().tolist() == [21.0, 43.0]
    # same, stride 2: out 3, pad total (3-1)*2 + 2 - 5 = 1, on the right: [1 2][3 4][5 0]
    assert conv_forward(x, W, None, 2, "same").ravel().tolist() == [21.0, 43.0, 5.0]
    # same, stride 1, kernel 3: pad 1 left, 1 right
    W3 = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    assert conv_forward(x, W3, None, 1, "same").ravel().tolist() == [210.0, 321.0, 432.0, 543.0, 54.0]
    assert pool_forward(x, 2, "max").ravel().tolist() == [2.0, 4.0]
    assert pool_forward(x, 2, "avg").ravel().tolist() == [1.5, 3.5]
    d = np.array([1.0, 2.0]).reshape(1, 2, 1)
    assert pool_backward(x, d, 2, "max").ravel().tolist() == [0.0, 1.0, 0.0, 2.0, 0.0]
    dW, db, dx = conv_backward(x, W, d, 2, "valid")
    assert dW.ravel().tolist() == [1 * 1 + 3 * 2, 2 * 1 + 4 * 2] and db.tolist() == [3.0]
    assert dx.ravel().tolist() == [1.0, 10.0, 2.0, 20.0, 0.0]


FORWARD = """
import json, micronn
specs, hidden, output, loss, X, Y, w = json.loads(%r)
net = micronn.Network(specs, activation=hidden, output=output, dtype="d")
net.set_weights(w)
print(json.dumps({"pred": net.predict_many(X), "grad": net.gradient(X, Y, loss), "eval": net.evaluate(X, Y, loss),
                  "w": net.get_weights()}))
"""
for k, c in enumerate(cases()):
    CASES["forward", k] = FORWARD % json.dumps(c)


def longest_sum(ref, X):
    """The number of terms of the longest sum a forward and backward pass of the reference's
    network computes on the rows X (a rounding bound grows with it)."""
    ref.forward(X)
    n = len(X)
    longest = n * ref.A[-1].shape[-1]                       # the loss
    for layer, A, Z in zip(ref.layers, ref.A, ref.Z):
        L, C = A.shape[1], A.shape[2] if A.ndim == 3 else 1
        if layer[0] == "conv":
            K, F = layer[1].shape[0], layer[1].shape[2]
            longest = max(longest, K * C, n * Z.shape[1], K * F)
        elif layer[0] == "dense":
            longest = max(longest, L * C, n, layer[1].shape[1])
        elif layer[0] == "avg":
            longest = max(longest, layer[1])
        elif layer[0] == "gap":
            longest = max(longest, L)
    return longest


def f32_bound(ref, X):
    """Where the float is float32: layers * N * EPS32 (the module docstring)."""
    return len(ref.layers) * longest_sum(ref, X) * EPS32


def _close(got, want, atol, rel=False):
    """Nested lists (None where the reference has None) within atol, or with rel within atol
    times max(1, |want|)."""
    if want is None:
        assert got is None
        return
    got, want = np.array(got, dtype=float), np.array(want, dtype=float)
    assert got.shape == want.shape
    err = np.abs(got - want) / (np.maximum(1.0, np.abs(want)) if rel else 1.0)
    assert not (err > atol).any(), "worst %g, allowed %g%s" % (np.max(err), atol, " relative" if rel else "")


@pytest.mark.parametrize("k", range(len(NETS)), ids=["-".join(map(str, n[0][1:-1])) for n in NETS])
def test_forward_gradient_and_loss_match_the_numpy_reference(rt, results, k):
    specs, hidden, output, loss, X, Y, w = cases()[k]
    g = results(rt)["forward", k].value
    ref = ref_layers(specs, w, hidden, output)
    tol = f32_bound(ref, X) if rt.float32 else 1e-9
    f32 = rt.float32
    _close(g["pred"], ref.forward(X), tol, rel=f32)
    assert g["eval"] == pytest.approx(ref.loss(X, Y, loss), rel=tol, abs=1e-12)
    grads = ref.gradient(X, Y, loss)
    for l, G in enumerate(grads):
        if G is None:
            assert g["grad"][l] is None and g["w"][l] is None
        else:
            _close(g["grad"][l][0], G[0], tol, rel=f32)
            _close(g["grad"][l][1], G[1], tol, rel=f32)
    if f32:      # set_weights/get_weights round trip: float32 weights, which a float32
        # MicroPython prints with 8 significant digits (not always enough to read back the float32)
        _close(g["w"][0][0], w[0][0], 2 * EPS32, rel=True)
    else:
        _close(g["w"][0][0], w[0][0], 0)


FINITE = """
import json, micronn
H = 1e-6
specs, hidden, output, loss, X, Y, w = json.loads(%r)
net = micronn.Network(specs, activation=hidden, output=output, dtype="d")
net.set_weights(w)
g = net.gradient(X, Y, loss)
worst = 0.0
count = 0
def walk(p, q):
    global worst, count
    if isinstance(p[0], list):
        for a, b in zip(p, q):
            walk(a, b)
        return
    for i in range(len(p)):
        v = p[i]
        p[i] = v + H
        net.set_weights(w)
        up = net.evaluate(X, Y, loss)
        p[i] = v - H
        net.set_weights(w)
        down = net.evaluate(X, Y, loss)
        p[i] = v
        numeric = (up - down) / (2 * H)
        worst = max(worst, abs(numeric - q[i]) / max(1.0, abs(numeric)))
        count += 1
for l in range(len(w)):
    if w[l] is not None:
        walk(w[l][0], g[l][0])
        walk(w[l][1], g[l][1])
print(json.dumps([worst, count]))
"""
for k, c in enumerate(cases(seed=20, n=4)):
    CASES["finite", k] = FINITE % json.dumps(c)


@pytest.mark.parametrize("k", range(len(NETS)), ids=["-".join(map(str, n[0][1:-1])) for n in NETS])
def test_gradients_match_finite_differences_for_every_layer_type_stride_and_padding(rt, results, k):
    float64_only(rt, "central differences with h=1e-6 carry float32 rounding of about 6e-8/1e-6, "
                     "several per cent (test_forward_gradient_and_loss_match_the_numpy_reference holds there)")
    worst, count = results(rt)["finite", k].value
    assert count > 10 and worst < 1e-6, (NETS[k][0], worst)


TRAIN = """
import array, json, micronn
X, Y, w0, specs, hidden, output, loss, lr, bs, opt = json.loads(%r)
net = micronn.Network(specs, activation=hidden, output=output, dtype="d")
net.set_weights(w0)
hist = []
net.fit(X, Y, epochs=12, lr=lr, loss=loss, batch_size=bs, optimizer=opt, shuffle=False,
        callback=lambda e, v: hist.append(v))
print(json.dumps({"w": net.get_weights(), "hist": hist}))
"""

# (net index, learning rate, batch size, optimizer): full batch, mini-batches, online SGD
# (which steps a convolution from its whole sample's gradient), momentum and Adam
TRAINING = [(0, 0.5, None, "sgd"), (1, 0.01, 2, "adam"), (2, 0.5, 1, "sgd"), (3, 0.005, 3, "momentum"),
            (4, 0.1, 1, "momentum"), (5, 0.02, None, "adam"), (6, 0.1, 2, "sgd")]
EPOCHS, ROWS = 12, 6
for k, lr, bs, opt in TRAINING:
    specs, hidden, output, loss = NETS[k]
    X, Y, w0 = problem(specs, output, seed=k, n=ROWS)
    CASES["train", k, opt] = TRAIN % json.dumps([X, Y, w0, specs, hidden, output, loss, lr, bs, opt])


@pytest.mark.parametrize("k,lr,bs,opt", TRAINING, ids=["-".join(map(str, NETS[t[0]][0][1:-1])) + "-" + t[3] for t in TRAINING])
def test_training_matches_the_numpy_reference(rt, results, k, lr, bs, opt):
    specs, hidden, output, loss = NETS[k]
    X, Y, w0 = problem(specs, output, seed=k, n=ROWS)
    got = results(rt)["train", k, opt].value
    ref = ref_layers(specs, w0, hidden, output)
    steps = EPOCHS * -(-ROWS // (bs or ROWS))
    tol = steps * f32_bound(ref, X) if rt.float32 else 1e-9
    hist = ref.fit(X, Y, epochs=EPOCHS, lr=lr, loss=loss, batch_size=bs, optimizer=opt)
    np.testing.assert_allclose(got["hist"], hist, rtol=tol, atol=1e-12)
    for g, want in zip(got["w"], ref.weights()):
        if want is None:
            assert g is None
        else:
            _close(g[0], want[0], tol, rel=rt.float32)
            _close(g[1], want[1], tol, rel=rt.float32)
    assert hist[-1] < hist[0]


# -- the integer path (float32 under viper) ----------------------------------------------------------

EXACT = """
import array, json, micronn
specs, hidden, output, loss, X, Y, w = json.loads(%r)
res = []
for fast in %s:
    net = micronn.Network(specs, activation=hidden, output=output)
    net.set_weights(w)
    net.fast = fast
    p = net.predict_many(X)
    g = net.gradient(X, Y, loss)
    net.fit(X, Y, epochs=3, lr=0.05, loss=loss, batch_size=1, shuffle=False)
    net.fit(X, Y, epochs=3, lr=0.02, loss=loss, batch_size=2, optimizer="momentum", shuffle=False)
    bits = [list(array.array("I", bytes(b))) for b in net.buffers()]
    res.append([p, g, net.get_weights(), bits])
print(json.dumps(res))
"""
for k, c in enumerate(cases(seed=7)):
    CASES["exact", k] = EXACT % (json.dumps(c), "(True, False)")
for k, c in enumerate(cases(seed=8, n=2)):
    CASES["exact-bits", k] = EXACT % (json.dumps(c), "(True,)")


def _flat(v, out):
    if isinstance(v, list):
        for a in v:
            _flat(a, out)
    elif v is not None:
        out.append(v)
    return out


@pytest.mark.parametrize("k", range(len(NETS)), ids=["-".join(map(str, n[0][1:-1])) for n in NETS])
def test_the_integer_path_is_within_1e6_of_the_float_kernels(upy, results, k):
    """Under viper (x64 code on the unix ports, Thumb on the M4F board) a float32 network runs
    convolutions on exact.py's integer kernels: outputs, gradients and the weights after online
    and mini-batch training stay within 1e-6 (relative to max(1, |value|)) of the float
    kernels, on a float32 runtime too (the M4F board: 3.6e-7 measured)."""
    fast, slow = results(upy)["exact", k].value
    a, b = _flat(fast[:3], []), _flat(slow[:3], [])
    assert len(a) == len(b) > 20
    for x, y in zip(a, b):
        assert abs(x - y) <= 1e-6 * max(1.0, abs(y)), (NETS[k][0], x, y)


@pytest.mark.parametrize("k", range(len(NETS)), ids=["-".join(map(str, n[0][1:-1])) for n in NETS])
def test_the_integer_path_gives_the_same_bits_as_plain_python(cpython, micropython, results, k):
    """The integer kernels compiled by viper and run as plain Python (CPython with net.fast
    forced on, as on firmware without a native emitter) agree bit for bit: the weights after
    training and the outputs.  On the float64 runtimes only: on a float32 one (the M4F board,
    MICRONN_MP32F) what lies between the kernels (activations, the optimizer's steps) rounds
    every operation to float32, where a float64 runtime rounds once when it stores the result,
    and the trained weights differ in the last bit (what holds there:
    test_the_integer_path_is_within_1e6_of_the_float_kernels)."""
    a = results(cpython)["exact-bits", k].value
    b = results(micropython)["exact-bits", k].value
    assert a[0][3] == b[0][3], NETS[k][0]
    assert a[0][0] == b[0][0], NETS[k][0]


# -- int8 --------------------------------------------------------------------------------------------

INT8 = """
import array, json, micronn
out = []
k = 0
for specs, hidden, output, loss, X, Y, w in json.loads(%r):
    net = micronn.Network(specs, activation=hidden, output=output)
    net.set_weights(w)
    q = micronn.quantize(net, X=X)
    name = "q%%d.mnn" %% k
    try:
        shared = micronn.load(name)     # the first runtime's model
    except OSError:
        q.save(name)
        shared = micronn.load(name)
    k += 1
    out.append({"q": q.predict_many(X), "shared": shared.predict_many(X), "float": net.predict_many(X),
                "repr": repr(shared), "nbytes": q.nbytes, "spec": shared.spec})
print(json.dumps(out))
"""


def test_int8_models_of_convolutions_stay_close_and_give_the_same_bits_everywhere(cpython, micropython, tmp_path):
    """Each runtime's int8 model stays close to the float network; the model one runtime
    saved gives the same outputs, bit for bit, on the other (the integer kernel)."""
    cs = cases(seed=9, n=12)
    a = cpython.run(INT8 % json.dumps(cs), cwd=str(tmp_path))
    b = micropython.run(INT8 % json.dumps(cs), cwd=str(tmp_path))
    for (specs, hidden, output, loss, X, Y, w), ga, gb in zip(cs, a, b):
        assert ga["shared"] == gb["shared"], specs
        assert ga["spec"] == specs and "int8" in ga["repr"]
        for g in (ga, gb):
            worst = np.max(np.abs(np.array(g["q"]) - np.array(g["float"])))
            assert worst < 0.05 * max(1.0, np.max(np.abs(g["float"]))), (specs, worst)
        n_w = sum(np.size(v[0]) for v in w if v is not None)
        rows = sum(len(v[1]) for v in w if v is not None)
        nl = len(specs) - 1         # a byte a weight, 4 a row constant, the table and the scales
        assert ga["nbytes"] == n_w + 4 * rows + 4 * 17 * nl + 4 * (nl + 1)


def test_an_int8_model_without_calibration_rows_still_classifies(rt):
    got = rt.run("""
        import json, micronn
        from micronn.rng import Random
        r = Random(3)
        X = [[r.uniform(-1, 1) for _ in range(30)] for _ in range(40)]
        net = micronn.Network(["10x3", "conv4k3", "maxpool2", 8, 3], activation="relu", output="softmax", seed=2)
        q = micronn.quantize(net)
        top = lambda v: v.index(max(v))
        agree = sum(1 for x in X if top(net.predict(x)) == top(q.predict(x)))
        print(json.dumps(agree))
    """)
    assert got >= 36


# -- specs, shapes and errors ------------------------------------------------------------------------

def test_layer_specs_parse_to_their_canonical_form():
    from micronn import layers
    assert layers.parse("50x3,conv8k5,pool2,16,3") == ["50x3", "conv8k5", "maxpool2", 16, 3]
    assert layers.parse("3,4,1") == [3, 4, 1]
    assert layers.parse("50x3, Conv8K5S1valid ,flatten,avgpool2,GAP,16:tanh,3") == \
        ["50x3", "conv8k5", "avgpool2", "gap", "16:tanh", 3]
    assert layers.conv1d(8, 5, stride=2, padding="same", activation="relu") == "conv8k5s2same:relu"
    assert [layers.input1d(50, 3), layers.max_pool1d(2), layers.avg_pool1d(3), layers.global_avg_pool1d()] == \
        ["50x3", "maxpool2", "avgpool3", "gap"]
    spec = layers.Spec(["50x3", "conv8k5", "maxpool2", 16, 3])
    assert spec.widths == [150, 46 * 8, 23 * 8, 16, 3]
    assert spec.param_count() == 8 * 5 * 3 + 8 + 23 * 8 * 16 + 16 + 16 * 3 + 3
    s2 = layers.Spec(["50x3", "conv8k5s2same", "gap", 3])
    assert s2.shapes == [(25, 8), (1, 8), (1, 3)]


@pytest.mark.parametrize("specs,message", [
    (["50x3", "conv8", 3], "expected conv<filters>k<kernel>"),
    (["50x3", "conv8k5s0", 3], "the stride after s must be from 1 to 65535"),
    (["50x3", "conv8k60", 3], "a kernel of 60 readings on a window of 50"),
    (["50x3", "maxpool64", 3], "pooling 64 readings of a window of 50"),
    ([150, "conv8k5", 3], "on an input given as LENGTHxCHANNELS"),
    (["50x3", 16, "conv8k5", 3], "convolutions and pooling come first"),
    (["50x3", "conv8k5"], "the last layer must be dense"),
    (["50x3", "maxpool2:relu", 3], "pooling has no activation"),
    (["50x3", "dropout", 3], "is not a layer spec"),
    (["fifty", "conv8k5", 3], "must give the input as LENGTHxCHANNELS"),
])
def test_bad_specs_are_refused_in_one_line(specs, message):
    import micronn
    with pytest.raises(ValueError) as e:
        micronn.Network(specs)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_activations_in_the_specs_and_by_list():
    import micronn
    net = micronn.Network(["20x2", "conv4k3:relu", "maxpool2", "8", 2], activation="tanh", output="softmax")
    assert net.activations == ["relu", "linear", "tanh", "softmax"]
    net = micronn.Network(["20x2", "conv4k3", "maxpool2", 8, 2], activation=["relu", "sigmoid"])
    assert net.activations == ["relu", "linear", "sigmoid", "linear"]
    with pytest.raises(ValueError, match="one name per hidden layer|2 hidden layers"):
        micronn.Network(["20x2", "conv4k3", "maxpool2", 8, 2], activation=["relu"])
    with pytest.raises(ValueError, match="not both"):
        micronn.Network(["20x2", "conv4k3:relu", 8, 2], activation=["relu", "tanh"])
    # specs with dense layers only are a dense network (the input only flattened)
    net = micronn.Network(["5x2", "4:relu", 2])
    assert net.spec is None and net.sizes == [10, 4, 2] and net.activations == ["relu", "sigmoid"]


def test_set_weights_checks_a_convolutions_shape():
    import micronn
    net = micronn.Network(["6x2", "conv3k2", "maxpool2", 2], init=False)
    w = net.get_weights()
    assert np.shape(w[0][0]) == (2, 2, 3) and w[1] is None and np.shape(w[2][0]) == (6, 2)
    bad = [[w[0][0][:1], w[0][1]], None, w[2]]
    with pytest.raises(ValueError, match="W must have 2 rows"):
        net.set_weights(bad)
    with pytest.raises(ValueError, match="has no weights"):
        net.set_weights([w[0], w[0], w[2]])
    with pytest.raises(ValueError, match=r"W\[1\]\[0\]\[2\]: 'x' is not a number"):
        w[0][0][1][0][2] = "x"
        net.set_weights(w)


def test_memory_is_counted_for_convolutions():
    import micronn
    from micronn import sizes
    specs = ["50x3", "conv8k5", "maxpool2", 16, 3]
    net = micronn.Network(specs)
    assert net.n_params == sizes.param_count(specs) == 3139
    assert net.nbytes == 4 * 3139 and sizes.model_nbytes(specs, True, "f") == 4 * 3139
    conv = 8 * 5 * 3
    assert net.training_nbytes("sgd", 1) == 4 * (conv + conv + 8)   # transposed weights, gradient
    assert net.training_nbytes("adam", 8) == 4 * (3 * 3139 + conv)
