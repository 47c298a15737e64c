"""Linear layers train: the linear activation's backward kernel takes (delta, y, n) like the
others (it used to be an alias of the forward kernel, which takes two arguments)."""
import json

import numpy as np
import pytest

import reference
from conftest import float64_only

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0.5], [1.0], [1.5], [0.0]]


@pytest.mark.parametrize("hidden,output", [("relu", "linear"), ("linear", "sigmoid")])
def test_linear_layers_train_like_the_reference(rt, hidden, output):
    float64_only(rt)            # (to 1e-12)
    got = rt.run("""
        import json, micronn
        net = micronn.Network([3, 5, 1], activation=%r, output=%r, seed=4, dtype="d")
        w0 = net.get_weights()
        loss = net.fit(%s, %s, epochs=20, lr=0.05, loss="mse", shuffle=False)
        print(json.dumps([w0, net.get_weights(), loss]))
    """ % (hidden, output, json.dumps(X), json.dumps(Y)))
    w0, w1, loss = got
    mlp = reference.MLP(w0, [hidden, output])
    history = mlp.fit(X, Y, epochs=20, lr=0.05, loss="mse")
    for (W, b), (Wr, br) in zip(w1, mlp.weights()):
        np.testing.assert_allclose(W, Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, br, rtol=0, atol=1e-12)
    assert loss == pytest.approx(history[-1], abs=1e-12)
