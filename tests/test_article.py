"""micronn reproduces the article exactly: same weights, predictions and loss curve."""
import json

import numpy as np
import pytest

import article
from conftest import float64_only

SEEDS = [1, 2, 7]


def micronn_article(rt, w1, w2, dtype="d"):
    return rt.run("""
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
    """ % (dtype, json.dumps(w1), json.dumps(w2)))


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_the_numpy_article_to_1e9(rt, seed):
    float64_only(rt)
    np.random.seed(seed)
    nn0 = article.NeuralNetwork(np.array(article.X, float), np.array(article.Y, float))
    nn, losses = article.run(seed)
    got = micronn_article(rt, nn0.weights1.tolist(), nn0.weights2.tolist())
    (W1, b1), (W2, b2) = got["weights"]
    assert b1 is None and b2 is None
    np.testing.assert_allclose(W1, nn.weights1, rtol=0, atol=1e-9)
    np.testing.assert_allclose(W2, nn.weights2, rtol=0, atol=1e-9)
    nn.feedforward()
    np.testing.assert_allclose(got["pred"], nn.output, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["history"], losses, rtol=1e-9, atol=1e-12)
    assert got["last"] == got["history"][-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_decreases_monotonically_and_learns_xor(rt, seed):
    np.random.seed(seed)
    nn0 = article.NeuralNetwork(np.array(article.X, float), np.array(article.Y, float))
    got = micronn_article(rt, nn0.weights1.tolist(), nn0.weights2.tolist())
    h = got["history"]
    assert len(h) == 1500
    assert all(b < a for a, b in zip(h, h[1:])), "loss went up"
    assert h[-1] < 0.05 * h[0]
    assert [round(p[0]) for p in got["pred"]] == [0, 1, 1, 0]


def test_float32_stays_close_to_the_article(rt):
    np.random.seed(1)
    nn0 = article.NeuralNetwork(np.array(article.X, float), np.array(article.Y, float))
    nn, _ = article.run(1)
    nn.feedforward()
    got = micronn_article(rt, nn0.weights1.tolist(), nn0.weights2.tolist(), dtype="f")
    np.testing.assert_allclose(got["pred"], nn.output, atol=1e-4)


def test_the_readme_example_trains_xor(rt):
    got = rt.run("""
        import json, micronn
        X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
        Y = [[0], [1], [1], [0]]
        net = micronn.Network([3, 4, 1], activation="sigmoid", output="sigmoid", bias=False, init="uniform", seed=1)
        loss = net.fit(X, Y, epochs=1500, lr=1.0, loss="sse")
        print(json.dumps([loss, net.predict([1, 0, 1]), net.predict_many(X)]))
    """)
    loss, p, many = got
    assert loss < 0.05
    assert p[0] > 0.9
    assert [round(v[0]) for v in many] == [0, 1, 1, 0]
