"""Quantized (int8) models on a board: push, predict and fetch work as for float models, on the
unix port at a Pico's heap and on the emulated Cortex-M4F board (32-bit: its int8 kernels run
as Thumb native code)."""
import json

import numpy as np
import pytest

import micronn
from boards import cli, deployed

pytestmark = pytest.mark.board


@pytest.fixture(scope="module", params=["pico", pytest.param("m4f", marks=pytest.mark.emulator)])
def board(request, tmp_path_factory):
    yield from deployed(tmp_path_factory.mktemp(request.param), request.param)


def test_an_int8_model_pushes_predicts_and_fetches_like_a_float_one(board, tmp_path):
    r = np.random.default_rng(3)
    X = r.uniform(0, 1, (40, 6)).tolist()
    Y = [[1.0, 0.0] if sum(x[:3]) > sum(x[3:]) else [0.0, 1.0] for x in X]
    net = micronn.Network([6, 12, 2], activation="tanh", output="softmax", seed=5)
    net.fit(X, Y, epochs=200, lr=0.05, loss="cce", optimizer="adam", batch_size=8)
    q = micronn.quantize(net, X=X)
    path = tmp_path / "q.mnn"
    q.save(str(path))

    cli("push", path, "--model", "q8", port=board.port, check=True)
    assert board.read("/models/q8.mnn") == path.read_bytes()

    rows = X[:5]
    got = json.loads(cli("predict", "--model", "q8", "--json", *rows[0], port=board.port, check=True).stdout)
    want = q.predict(rows[0])
    if board.board == "m4f":
        # the integer kernels give the same integers; a float32 board scales them and takes the
        # softmax in float32, and its JSON has 7 significant digits: 40 rows of four such models
        # came out up to 7e-8 apart (3e-6 relative, on outputs below 1e-8)
        np.testing.assert_allclose(got, [want], rtol=0, atol=1e-6)
    else:
        assert got == [want]                    # the same integers and the same doubles: the same bits
    for a, b in zip(got[0], net.predict(rows[0])):
        assert abs(a - b) < 0.02               # and stay close to the float model

    out = tmp_path / "back.mnn"
    cli("fetch", "--model", "q8", "-o", out, port=board.port, check=True)
    assert out.read_bytes() == path.read_bytes()
    info = json.loads(cli("info", "--json", port=board.port, check=True).stdout)
    q8 = [m for m in info["models"] if m["name"] == "q8"][0]
    assert q8["dtype"] == "b" and q8["layers"] == [6, 12, 2]
