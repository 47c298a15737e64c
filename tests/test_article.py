"""micronn reproduces the article exactly: same weights, predictions and loss curve."""
import functools
import json

import numpy as np
import pytest

import article
from conftest import float64_only

SEEDS = [1, 2, 7]

TRAIN = """
    import array, json, micronn
    X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    Y = [[0], [1], [1], [0]]
    net = micronn.Network([3, 4, 1], activation="sigmoid", output="sigmoid", bias=False, dtype=%r)
    net.set_weights([[%s, None], [%s, None]])
    # a flat array, not a list: 1500 boxed floats kept through training would be scattered
    # over MicroPython's heap and leave no room for json.dumps' buffer
    history = array.array("d", bytearray(8 * 1500))
    def record(epoch, loss):
        history[epoch - 1] = loss
    last = net.fit(X, Y, epochs=1500, lr=1.0, loss="sse", callback=record)
    print(json.dumps({"weights": net.get_weights(), "pred": net.predict_many(X),
                      "history": list(history), "last": last}))
"""

README = """
    import json, micronn
    X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    Y = [[0], [1], [1], [0]]
    net = micronn.Network([3, 4, 1], activation="sigmoid", output="sigmoid", bias=False, init="uniform", seed=1)
    loss = net.fit(X, Y, epochs=1500, lr=1.0, loss="sse")
    print(json.dumps([loss, net.predict([1, 0, 1]), net.predict_many(X)]))
"""


def start_weights(seed):
    """The article's initial weights for a NumPy seed."""
    np.random.seed(seed)
    nn0 = article.NeuralNetwork(np.array(article.X, float), np.array(article.Y, float))
    return nn0.weights1.tolist(), nn0.weights2.tolist()


@pytest.fixture(scope="session")
def trained():
    """The article's 1500-epoch trainings (float64 from each seed, float32 from seed 1) and the
    README example, run once per runtime in one interpreter; {case: Result}."""
    cases = {("d", seed): TRAIN % (("d",) + tuple(json.dumps(w) for w in start_weights(seed))) for seed in SEEDS}
    cases["f", 1] = TRAIN % (("f",) + tuple(json.dumps(w) for w in start_weights(1)))
    cases["readme"] = README
    return functools.cache(lambda rt: rt.run_batch(cases))


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_the_numpy_article_to_1e9(rt, trained, seed):
    float64_only(rt, "dtype='d' keeps float64 weights, but the arithmetic is the runtime's "
                     "(test_a_float32_runtime_follows_the_article)")
    nn, losses = article.run(seed)
    got = trained(rt)["d", seed].value
    (W1, b1), (W2, b2) = got["weights"]
    assert b1 is None and b2 is None
    np.testing.assert_allclose(W1, nn.weights1, rtol=0, atol=1e-9)
    np.testing.assert_allclose(W2, nn.weights2, rtol=0, atol=1e-9)
    nn.feedforward()
    np.testing.assert_allclose(got["pred"], nn.output, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["history"], losses, rtol=1e-9, atol=1e-12)
    assert got["last"] == got["history"][-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_decreases_monotonically_and_learns_xor(rt, trained, seed):
    got = trained(rt)["d", seed].value
    h = got["history"]
    assert len(h) == 1500
    assert all(b < a for a, b in zip(h, h[1:])), "loss went up"
    assert h[-1] < 0.05 * h[0]
    assert [round(p[0]) for p in got["pred"]] == [0, 1, 1, 0]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_float32_runtime_follows_the_article(rt, trained, seed):
    """Where the runtime's float is float32 (a 32-bit board), dtype='d' stores float64 but
    computes in float32: after 1500 epochs the weights are within 1e-4 of the article's, the
    predictions within 3e-6 and each loss within 1e-4 relative (the M4F board, measured: 1.3e-5,
    2.5e-7 and 7.7e-6)."""
    if not rt.float32:
        pytest.skip("%s computes in float64: test_matches_the_numpy_article_to_1e9" % rt.name)
    nn, losses = article.run(seed)
    got = trained(rt)["d", seed].value
    (W1, _), (W2, _) = got["weights"]
    np.testing.assert_allclose(W1, nn.weights1, rtol=0, atol=1e-4)
    np.testing.assert_allclose(W2, nn.weights2, rtol=0, atol=1e-4)
    nn.feedforward()
    np.testing.assert_allclose(got["pred"], nn.output, rtol=0, atol=3e-6)
    np.testing.assert_allclose(got["history"], losses, rtol=1e-4, atol=0)
    assert got["last"] == got["history"][-1]


def test_float32_stays_close_to_the_article(rt, trained):
    nn, _ = article.run(1)
    nn.feedforward()
    got = trained(rt)["f", 1].value
    np.testing.assert_allclose(got["pred"], nn.output, atol=1e-4)


def test_the_readme_example_trains_xor(rt, trained):
    loss, p, many = trained(rt)["readme"].value
    assert loss < 0.05
    assert p[0] > 0.9
    assert [round(v[0]) for v in many] == [0, 1, 1, 0]
