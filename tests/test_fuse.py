"""fuse.py on CPython: a sample's training step (online SGD, or a batch's gradient sums) and
predict written out as one function each give the kernels' results bit for bit (the same
weights, losses and outputs as `written = False`, which calls the kernels one by one), for every
activation, loss, bias flag, dtype and optimizer, small networks (loops written out) and larger
ones (loops kept), scaled inputs, and the same one-line errors."""
import json
import random
import sys

import pytest

from conftest import LIB

pytestmark = pytest.mark.lib

CASES = [
    ([3, 4, 1], "sigmoid", "sigmoid", "sse", True, "f"),
    ([3, 4, 1], "sigmoid", "sigmoid", "sse", False, "d"),        # the article's, in float64
    ([5, 8, 3], "tanh", "softmax", "cce", True, "f"),
    ([4, 6, 6, 2], "relu", "sigmoid", "bce", True, "f"),        # units that are off: zero deltas
    ([6, 5, 2], "leaky_relu", "linear", "mse", False, "f"),
    ([20, 17, 18, 3], "sigmoid", "softmax", "cce", True, "f"),  # rows and inputs past fuse.UNROLL
    ([9, 32, 4], "tanh", "tanh", "mse", True, "d"),
]


def _micronn():
    sys.path.insert(0, str(LIB))
    import micronn
    return micronn


def _data(sizes, out, n=12, seed=3):
    r = random.Random(seed)
    X = [[r.uniform(-2, 2) for _ in range(sizes[0])] for _ in range(n)]
    if out == "softmax":
        Y = [[1.0 if k == i % sizes[-1] else 0.0 for k in range(sizes[-1])] for i in range(n)]
    elif out == "sigmoid":
        Y = [[float((i + k) % 2) for k in range(sizes[-1])] for i in range(n)]
    else:
        Y = [[r.uniform(-1, 1) for _ in range(sizes[-1])] for _ in range(n)]
    return X, Y


def _run(micronn, written, sizes, hidden, out, loss, bias, dtype, scale=None, batch=(1, "sgd")):
    net = micronn.Network(sizes, activation=hidden, output=out, bias=bias, seed=7, dtype=dtype)
    net.written = written
    X, Y = _data(sizes, out)
    losses = [net.fit(X, Y, epochs=3, lr=0.05, loss=loss, batch_size=batch[0], optimizer=batch[1], scale=scale)
              for _ in range(2)]
    preds = [net.predict(x) for x in X[:5]]
    return net, json.dumps([losses, net.get_weights(), preds])


@pytest.mark.parametrize("batch", [(1, "sgd"), (None, "sgd"), (5, "momentum"), (4, "adam")], ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[0])) + "-" + c[1] + "-" + c[3] + "-" + c[5])
def test_written_functions_are_the_kernels_bit_for_bit(case, batch):
    micronn = _micronn()
    got = {}
    for written in (False, True):
        net, got[written] = _run(micronn, written, *case, batch=batch)
        fns = (net._step[3], net._fwd) if written else (None, None)
        assert all(callable(f) for f in fns) == written, fns      # used when allowed, and only then
    assert got[True] == got[False]


def test_scaled_inputs_and_a_scaler_set_later():
    micronn = _micronn()
    got = {}
    for written in (False, True):
        net, text = _run(micronn, written, [4, 5, 2], "sigmoid", "softmax", "cce", True, "f", scale="standard")
        X, _ = _data([4, 5, 2], "softmax")
        plain = micronn.Network([4, 5, 2], output="softmax", seed=2)
        plain.written = written
        before = plain.predict(X[0])
        plain.scaler = net.scaler        # a scaler set after the functions were made is applied
        got[written] = (text, before, plain.predict(X[0]))
    assert got[True] == got[False]
    assert got[True][1] != got[True][2]


def test_new_weights_are_read_after_set_weights():
    micronn = _micronn()
    net = micronn.Network([3, 4, 1], seed=1)
    x = [0.5, -1.0, 2.0]
    first = net.predict(x)
    other = micronn.Network([3, 4, 1], seed=2)
    net.set_weights(other.get_weights())
    assert net.predict(x) == other.predict(x) != first
    X, Y = _data([3, 4, 1], "sigmoid")
    net.fit(X, Y, epochs=1, batch_size=1)
    other.fit(X, Y, epochs=1, batch_size=1)
    net.set_weights(other.get_weights())
    again = [m.fit(X, Y, epochs=2, batch_size=1, shuffle=False) for m in (net, other)]
    assert again[0] == again[1]
    assert net.get_weights() == other.get_weights()


@pytest.mark.parametrize("x", [[1.0, float("nan"), 0.0], [1.0, "a", 0.0], [1.0, 2.0], "abc", None, [1, 2, 10 ** 400]])
def test_bad_samples_get_the_same_message(x):
    micronn = _micronn()
    said = []
    for written in (False, True):
        net = micronn.Network([3, 4, 1], seed=1)
        net.written = written
        with pytest.raises(ValueError) as e:
            net.predict(x)
        said.append(str(e.value))
    assert said[0] == said[1], said


def test_whole_numbers_as_inputs_and_flat_data():
    """The article's inputs are ints; rows may also come as flat arrays."""
    import array
    micronn = _micronn()
    X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    got = []
    for written in (False, True):
        net = micronn.Network([3, 4, 1], output="sigmoid", seed=1, bias=False, init="uniform")
        net.written = written
        loss = net.fit(X, [0, 1, 1, 0], epochs=50, lr=1.0, loss="sse", batch_size=1, shuffle=False)
        flat = array.array("f", [v for row in X for v in row])
        loss2 = net.fit(flat, array.array("f", [0, 1, 1, 0]), epochs=5, lr=1.0, loss="sse", batch_size=1)
        got.append(json.dumps([loss, loss2, net.get_weights(), [net.predict(x) for x in X]]))
    assert got[0] == got[1]


def test_written_false_after_use_goes_back_to_the_kernel_calls():
    micronn = _micronn()
    net = micronn.Network([3, 4, 1], seed=1)
    X, Y = _data([3, 4, 1], "sigmoid")
    net.fit(X, Y, epochs=1, batch_size=1)
    net.predict(X[0])
    net.written = False
    calls = []
    real = net._forward
    net._forward = lambda x: calls.append(1) or real(x)
    net.predict(X[0])
    assert calls, "predict did not go through the kernels' way"
    assert net._written_step("mse", True) is None


@pytest.mark.parametrize("written", [False, True])
@pytest.mark.parametrize("dtype", ["f", "d"])
def test_predict_rounds_its_input_to_the_dtype_as_predict_many_does(written, dtype):
    """A float32 network sees its inputs as float32, as on a float32 board: predict(x) equals
    predict of x rounded to float32 by struct, and predict_many's row (float64 keeps x as it is)."""
    import struct
    micronn = _micronn()
    net = micronn.Network([3, 5, 2], activation="tanh", output="sigmoid", seed=4, dtype=dtype)
    net.written = written
    r = random.Random(11)
    X = [[r.uniform(-3, 3) for _ in range(3)] for _ in range(20)]
    f32 = [list(struct.unpack("3f", struct.pack("3f", *x))) for x in X]
    assert any(a != b for x, y in zip(X, f32) for a, b in zip(x, y))      # the rounding matters
    got = [net.predict(x) for x in X]
    assert got == net.predict_many(X)
    if dtype == "f":
        assert got == [net.predict(x) for x in f32]
    else:
        assert got != [net.predict(x) for x in f32]
