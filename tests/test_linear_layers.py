"""Linear layers train: the linear activation's backward kernel takes (delta, y, n) like the
others (it used to be an alias of the forward kernel, which takes two arguments)."""
import functools
import json

import numpy as np
import pytest

import reference
from conftest import float64_only

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0.5], [1.0], [1.5], [0.0]]


PAIRS = [("relu", "linear"), ("linear", "sigmoid")]
TRAIN = """
    import json, micronn
    net = micronn.Network([3, 5, 1], activation=%r, output=%r, seed=4, dtype="d")
    w0 = net.get_weights()
    loss = net.fit(%s, %s, epochs=20, lr=0.05, loss="mse", shuffle=False)
    print(json.dumps([w0, net.get_weights(), loss]))
"""


@pytest.fixture(scope="session")
def trained():
    return functools.cache(lambda rt: rt.run_batch({pair: TRAIN % (pair + (json.dumps(X), json.dumps(Y)))
                                                    for pair in PAIRS}))


@pytest.mark.parametrize("hidden,output", PAIRS)
def test_linear_layers_train_like_the_reference(rt, trained, hidden, output):
    """To 1e-12 in float64; where the runtime's float is float32 (a 32-bit board) weights within
    2e-6 and the loss 5e-7 (the M4F board, measured: 1.3e-7 and 1.9e-8)."""
    tol, loss_tol = (2e-6, 5e-7) if rt.float32 else (1e-12, 1e-12)
    w0, w1, loss = trained(rt)[hidden, output].value
    mlp = reference.MLP(w0, [hidden, output])
    history = mlp.fit(X, Y, epochs=20, lr=0.05, loss="mse")
    for (W, b), (Wr, br) in zip(w1, mlp.weights()):
        np.testing.assert_allclose(W, Wr, rtol=0, atol=tol)
        np.testing.assert_allclose(b, br, rtol=0, atol=tol)
    assert loss == pytest.approx(history[-1], abs=loss_tol)
