"""Training against the independent NumPy oracle, gradients against finite differences, and
CPython/MicroPython agreement.  Every test that takes `rt` runs under both runtimes."""
import functools
import json

import numpy as np
import pytest

from conftest import float64_only
from reference import MLP

# key: code; every case runs once per runtime, all in one interpreter (the `results` fixture)
CASES = {}


@pytest.fixture(scope="session")
def results():
    return functools.cache(lambda rt: rt.run_batch(CASES))


# (layers, hidden activation, output, loss, optimizer, batch_size, bias, lr)
CONFIGS = [
    ([3, 5, 2], "tanh", "sigmoid", "mse", "sgd", None, True, 0.5),
    ([4, 6, 3], "relu", "softmax", "cce", "adam", 2, True, 0.01),
    ([2, 4, 4, 1], "leaky_relu", "linear", "sse", "momentum", 1, True, 0.02),
    ([3, 4, 2], "sigmoid", "sigmoid", "bce", "sgd", 1, True, 0.5),
    ([3, 3, 3], "tanh", "softmax", "mse", "sgd", 3, True, 0.3),
    ([3, 4, 1], "linear", "tanh", "sse", "adam", None, False, 0.05),
    ([5, 3, 4, 2], ["relu", "tanh"], "linear", "mse", "momentum", 4, True, 0.05),
]


def problem(layers, output, bias, seed=0, n=7):
    """Random data and initial weights (get_weights() shapes) for a network of these sizes."""
    r = np.random.default_rng(seed)
    X = r.uniform(-1, 1, (n, layers[0]))
    if output == "softmax":
        Y = np.eye(layers[-1])[r.integers(0, layers[-1], n)]
    else:
        Y = r.uniform(0.05, 0.95, (n, layers[-1]))
    weights = [[r.uniform(-0.8, 0.8, (layers[l], layers[l + 1])).tolist(),
                r.uniform(-0.2, 0.2, layers[l + 1]).tolist() if bias else None]
               for l in range(len(layers) - 1)]
    return X.tolist(), Y.tolist(), weights


TRAIN = """
        import array, json, micronn
        X, Y, w0 = json.loads(%r)
        net = micronn.Network(%r, activation=%r, output=%r, bias=%r, dtype="d")
        net.set_weights(w0)
        hist = array.array("d", bytearray(8 * 25))
        def cb(epoch, loss):
            hist[epoch - 1] = loss
        last = net.fit(X, Y, epochs=25, lr=%r, loss=%r, batch_size=%r, optimizer=%r, shuffle=False, callback=cb)
        print(json.dumps({"w": net.get_weights(), "hist": list(hist), "last": last,
                          "pred": net.predict_many(X), "eval": net.evaluate(X, Y)}))
"""
for k, (layers, hidden, output, loss, opt, bs, bias, lr) in enumerate(CONFIGS):
    CASES["config", k] = TRAIN % (json.dumps(problem(layers, output, bias)), layers, hidden, output, bias, lr,
                                  loss, bs, opt)


@pytest.mark.parametrize("k", range(len(CONFIGS)),
                         ids=["-".join(map(str, c[0])) + "-" + c[3] + "-" + c[4] for c in CONFIGS])
def test_training_matches_the_numpy_reference(rt, results, k):
    """To 1e-9 where the runtime computes in float64.  Where its float is float32 (a 32-bit
    board) dtype="d" only stores float64: losses within 1e-5 relative, weights 5e-6, outputs
    2e-6 (the M4F board, measured over the configurations: 8.8e-7, 5.9e-7, 1.7e-7)."""
    layers, hidden, output, loss, opt, bs, bias, lr = CONFIGS[k]
    f32 = rt.float32
    rel, w_tol, out_tol = (1e-5, 5e-6, 2e-6) if f32 else (1e-9, 1e-9, 1e-9)
    X, Y, w0 = problem(layers, output, bias)
    got = results(rt)["config", k].value
    hidden_list = hidden if isinstance(hidden, list) else [hidden] * (len(layers) - 2)
    ref = MLP(w0, hidden_list + [output])
    hist = ref.fit(X, Y, epochs=25, lr=lr, loss=loss, batch_size=bs, optimizer=opt)
    np.testing.assert_allclose(got["hist"], hist, rtol=rel, atol=1e-12)
    assert got["last"] == got["hist"][-1]
    for (W, b), (rW, rb) in zip(got["w"], ref.weights()):
        np.testing.assert_allclose(W, rW, rtol=0, atol=w_tol)
        if rb is None:
            assert b is None
        else:
            np.testing.assert_allclose(b, rb, rtol=0, atol=w_tol)
    np.testing.assert_allclose(got["pred"], ref.forward(X), rtol=0, atol=out_tol)
    assert got["eval"] == pytest.approx(ref.loss(X, Y, loss), rel=rel)
    assert hist[-1] < hist[0], "the configuration should learn something"


ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
PAIRS = [(out, loss) for out in ACTS + ["softmax"] for loss in ("sse", "mse")] + \
        [("sigmoid", "bce"), ("softmax", "cce")]


def finite_difference_cases():
    cases = []
    for k, hidden in enumerate(ACTS):
        for j, (output, loss) in enumerate(PAIRS):
            X, Y, w0 = problem([3, 4, 3], output, True, seed=10 * k + j, n=5)
            cases.append([hidden, output, loss, X, Y, w0])
    return cases


CASES["finite-differences"] = """
        import json, micronn
        cases = json.loads(%r)
        H = 1e-6
        out = []
        for hidden, output, loss, X, Y, w0 in cases:
            net = micronn.Network([3, 4, 3], activation=hidden, output=output, dtype="d")
            net.set_weights(w0)
            g = net.gradient(X, Y, loss)
            worst = 0.0
            for l in range(2):
                for part in (0, 1):
                    rows = w0[l][part] if part == 0 else [w0[l][1]]
                    for i in range(len(rows)):
                        for j in range(len(rows[i])):
                            v = rows[i][j]
                            rows[i][j] = v + H
                            net.set_weights(w0)
                            up = net.evaluate(X, Y, loss)
                            rows[i][j] = v - H
                            net.set_weights(w0)
                            down = net.evaluate(X, Y, loss)
                            rows[i][j] = v
                            numeric = (up - down) / (2 * H)
                            analytic = g[l][0][i][j] if part == 0 else g[l][1][j]
                            err = abs(numeric - analytic) / max(1.0, abs(numeric))
                            worst = max(worst, err)
            out.append([hidden, output, loss, worst])
        print(json.dumps(out))
""" % json.dumps(finite_difference_cases())


def test_gradient_matches_finite_differences_for_every_allowed_pair(rt, results):
    """Every hidden activation with every allowed (output activation, loss) pair."""
    float64_only(rt, "central differences with h=1e-6 carry float32 rounding of about "
                     "6e-8/1e-6, several per cent (test_gradient_agrees_with_the_reference holds there)")
    worst = results(rt)["finite-differences"].value
    assert len(worst) == len(ACTS) * len(PAIRS)
    bad = [w for w in worst if not w[3] < 1e-6]
    assert not bad, "gradient differs from finite differences: %s" % bad


CASES["gradient"] = """
        import json, micronn
        X, Y, w0 = json.loads(%r)
        net = micronn.Network([4, 5, 3], activation="tanh", output="softmax", dtype="d")
        net.set_weights(w0)
        print(json.dumps(net.gradient(X, Y, "cce")))
""" % json.dumps(problem([4, 5, 3], "softmax", True, seed=3))


def test_gradient_agrees_with_the_reference(rt, results):
    X, Y, w0 = problem([4, 5, 3], "softmax", True, seed=3)
    got = results(rt)["gradient"].value
    gW, gb = MLP(w0, ["tanh", "softmax"]).gradient(X, Y, "cce")
    tol = 5e-7 if rt.float32 else 1e-12       # float32 arithmetic (the M4F board: 2.4e-8 measured)
    for l in range(2):
        np.testing.assert_allclose(got[l][0], gW[l], atol=tol)
        np.testing.assert_allclose(got[l][1], gb[l], atol=tol)


SEEDED = """
    import array, json, micronn
    X = [[(i * 7 %% 11) / 11.0, (i * 3 %% 5) / 5.0, ((i * i) %% 7) / 7.0, 1.0] for i in range(23)]
    Y = [[1.0, 0.0] if (i * 7 %% 11) > 5 else [0.0, 1.0] for i in range(23)]
    net = micronn.Network([4, 6, 5, 2], activation=%r, output="softmax", seed=%d, dtype="d")
    loss = net.fit(X, Y, epochs=30, lr=%r, loss="cce", batch_size=%r, optimizer=%r)
    print(json.dumps({"w": net.get_weights(), "loss": loss}))
"""


SEEDED_RUNS = [
    ("tanh", 1, 0.05, 4, "adam"),
    ("relu", 2, 0.1, 1, "sgd"),
    ("leaky_relu", 3, 0.05, 5, "momentum"),
]
for run in SEEDED_RUNS:
    CASES["seeded", run] = SEEDED % run


@pytest.mark.parametrize("run", SEEDED_RUNS, ids=lambda r: "-".join(map(str, r)))
def test_cpython_and_micropython_give_the_same_weights_for_a_seed(cpython, micropython, results, run):
    """Same seed: same initial weights, same shuffles, same training, to 1e-9."""
    a = results(cpython)["seeded", run].value
    b = results(micropython)["seeded", run].value
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)
    for (Wa, ba), (Wb, bb) in zip(a["w"], b["w"]):
        np.testing.assert_allclose(Wa, Wb, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ba, bb, rtol=0, atol=1e-9)


CASES["seeds"] = """
        import json, micronn
        w = [micronn.Network([3, 4, 2], seed=s).get_weights()[0][0][0] for s in (5, 5, 6)]
        print(json.dumps(w))
"""


def test_seeds_reproduce_and_differ(rt, results):
    got = results(rt)["seeds"].value
    assert got[0] == got[1]
    assert got[0] != got[2]


CASES["init-bits"] = """
        import binascii, json, micronn
        out = {}
        for init in ("uniform", "xavier", "he"):
            for seed in (1, 2):
                net = micronn.Network([5, 9, 3], init=init, seed=seed)
                out["%s-%d" % (init, seed)] = [binascii.hexlify(bytes(L.W)).decode() for L in net.layers]
        print(json.dumps(out))
"""


def test_a_seed_draws_the_same_float32_weights_on_every_runtime(cpython, upy, results):
    """Every init, bit for bit, where floats are float64 (CPython, the unix port) and where they
    are float32 (a 32-bit board): the bound sqrt(6/n) is rounded to float32 as a float32 board
    computes it, and each weight is one product of it with an exact 2r - 1."""
    assert results(upy)["init-bits"].value == results(cpython)["init-bits"].value


CASES["inits"] = """
        import json, micronn
        out = {}
        for init in ("uniform", "xavier", "he"):
            net = micronn.Network([20, 30, 10], activation="relu", init=init, seed=4)
            W = [v for row in net.get_weights()[0][0] for v in row]
            out[init] = [min(W), max(W), sum(W) / len(W), net.get_weights()[0][1][:3]]
        print(json.dumps(out))
"""


def test_inits_have_the_documented_ranges(rt, results):
    got = results(rt)["inits"].value
    lo, hi, mean, b = got["uniform"]
    assert 0 <= lo < 0.05 and 0.95 < hi < 1 and abs(mean - 0.5) < 0.05
    a = (6.0 / 50) ** 0.5
    lo, hi, mean, b = got["xavier"]
    assert -a <= lo < -0.9 * a and 0.9 * a < hi <= a and abs(mean) < 0.05
    a = (6.0 / 20) ** 0.5
    lo, hi, mean, b = got["he"]
    assert -a <= lo < -0.9 * a and 0.9 * a < hi <= a
    assert b == [0.0, 0.0, 0.0]


CASES["callback"] = """
        import json, micronn
        X = [[0, 0], [0, 1], [1, 0], [1, 1]]
        Y = [0, 1, 1, 1]
        net = micronn.Network([2, 3, 1], seed=1)
        seen = []
        net.fit(X, Y, epochs=10, lr=0.5, every=3, callback=lambda e, l: seen.append(e))
        stopped = []
        def stop(e, l):
            stopped.append(e)
            return e < 4
        net.fit(X, Y, epochs=50, lr=0.5, callback=stop)
        print(json.dumps([seen, stopped]))
"""


def test_callback_every_and_early_stop(rt, results):
    got = results(rt)["callback"].value
    seen, stopped = got
    assert seen == [3, 6, 9, 10]
    assert stopped == [1, 2, 3, 4]


CASES["more-epochs"] = """
        import json, micronn
        X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
        Y = [[0], [1], [1], [0]]
        out = {}
        for opt, lr in (("sgd", 1.0), ("momentum", 0.3), ("adam", 0.05)):
            net = micronn.Network([3, 6, 1], activation="tanh", output="sigmoid", seed=3)
            first = net.fit(X, Y, epochs=1, lr=lr, loss="bce", optimizer=opt)
            last = net.fit(X, Y, epochs=400, lr=lr, loss="bce", optimizer=opt)
            out[opt] = [first, last, [round(p[0]) for p in net.predict_many(X)]]
        print(json.dumps(out))
"""


def test_more_epochs_keep_lowering_the_loss_with_every_optimizer(rt, results):
    got = results(rt)["more-epochs"].value
    for opt, (first, last, classes) in got.items():
        assert last < 0.2 * first, opt
        assert classes == [0, 1, 1, 0], opt


LARGE = [("sigmoid", "sigmoid", "bce"), ("tanh", "softmax", "cce"), ("relu", "sigmoid", "sse"),
         ("leaky_relu", "tanh", "mse")]
LARGE_W = [[[[50.0, -50.0, 30.0], [-40.0, 60.0, -70.0]], [0.0, 0.0, 0.0]],
           [[[90.0, -90.0], [-80.0, 80.0], [70.0, 70.0]], [0.0, 0.0]]]
# saturating rows, and one small row that keeps some units off the flat part of their curve
LARGE_X = [[1e4, -1e4], [-1e4, 1e4], [800.0, 800.0], [0.01, -0.02]]
LARGE_Y = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
CASES["large-inputs"] = """
        import json, micronn
        X, Y, w = json.loads(%r)
        finite = lambda vs: all(v - v == 0.0 for v in vs)
        out = []
        for hidden, output, loss in json.loads(%r):
            net = micronn.Network([2, 3, 2], activation=hidden, output=output, seed=1, dtype="d")
            net.set_weights(w)
            p = net.predict_many(X)
            l = net.evaluate(X, Y, loss)
            g = net.gradient(X, Y, loss)
            flat = [v for W, b in g for row in W for v in row] + [v for W, b in g for v in b]
            ok = finite([v for row in p for v in row]) and finite([l]) and finite(flat)
            out.append([ok, p, l, g] if ok else [ok, str(p), str(l), str(g)])
        print(json.dumps(out))
""" % (json.dumps([LARGE_X, LARGE_Y, LARGE_W]), json.dumps(LARGE))


def test_large_inputs_do_not_overflow(rt, results):
    """Saturated units give finite outputs, loss and gradient, and the reference's values: to
    1e-9 in float64; in float32 (a 32-bit board) outputs within 1e-5, gradients 1e-4, losses
    1e-5 relative, but 2e-2 for bce, whose saturated outputs are 1.0 in float32 and whose
    log(1 - p) is then clipped at log(1e-7) (losses._EPS) where float64 has log(2e-9) (the
    M4F board, measured: 7.2e-7, 1.2e-5, 1.1e-2)."""
    f32 = rt.float32
    got = results(rt)["large-inputs"].value
    for (hidden, output, loss), (ok, p, l, g) in zip(LARGE, got):
        assert ok, (hidden, output, p, l, g)
        ref = MLP(LARGE_W, [hidden, output])
        with np.errstate(over="ignore"):       # NumPy's exp(-z) overflows to inf: sigmoid 0
            rp, rl = ref.forward(LARGE_X), ref.loss(LARGE_X, LARGE_Y, loss)
            gW, gb = ref.gradient(LARGE_X, LARGE_Y, loss)
        np.testing.assert_allclose(p, rp, rtol=0 if f32 else 1e-9, atol=1e-5 if f32 else 1e-15)
        assert l == pytest.approx(rl, rel=(2e-2 if loss == "bce" else 1e-5) if f32 else 1e-9, abs=1e-15)
        for layer in range(2):
            # values near 1 - tiny and tiny differ by an ulp of 1 between libms: atol 1e-15
            np.testing.assert_allclose(g[layer][0], gW[layer], rtol=0 if f32 else 1e-9, atol=1e-4 if f32 else 1e-15)
            np.testing.assert_allclose(g[layer][1], gb[layer], rtol=0 if f32 else 1e-9, atol=1e-4 if f32 else 1e-15)
        # the small row reaches the first layer: the comparison is not of zeros only
        assert max(abs(v) for row in g[0][0] for v in row) > 1e-3, (hidden, output, g)


CASES["divergence"] = """
        import micronn
        net = micronn.Network([1, 4, 1], activation="linear", output="linear", seed=1, dtype="d")
        net.fit([[100.0], [200.0], [-300.0]], [[1e3], [2e3], [-3e3]], epochs=200, lr=10.0, loss="sse")
"""


def test_divergence_is_reported_not_silent(rt, results):
    kind, msg = results(rt)["divergence"].raised()
    assert kind == "ValueError"
    assert "diverged" in msg and "smaller lr" in msg


def test_parameters_cost_at_most_5_bytes_each_on_micropython(micropython):
    """Weights live in flat arrays: the whole network, scratch lists included, fits in ~4.5 B/param."""
    got = micropython.run("""
        import gc, json, micronn
        out = []
        for sizes in ([16, 64, 64, 4], [16, 100, 100, 4]):
            gc.collect()
            before = gc.mem_free()
            net = micronn.Network(sizes, seed=1)
            gc.collect()
            out.append([net.n_params, before - gc.mem_free()])
            del net
        print(json.dumps(out))
    """, heap="192k")
    for n_params, used in got:
        assert used / n_params <= 5.0, (n_params, used)


CASES["flat-arrays"] = """
        import array, json, micronn
        X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
        Y = [[0], [1], [1], [0]]
        out = []
        for x, y in ((X, Y), (array.array("f", [v for r in X for v in r]), array.array("f", [0, 1, 1, 0]))):
            net = micronn.Network([3, 4, 1], seed=2)
            loss = net.fit(x, y, epochs=50, lr=0.5, batch_size=2)
            out.append([loss, net.get_weights(), net.predict_many(x)])
        print(json.dumps(out))
"""


def test_flat_arrays_train_like_lists(rt, results):
    """A board streams data into flat arrays; fit() takes them and gives the same result."""
    got = results(rt)["flat-arrays"].value
    assert got[0] == got[1]


CASES["no-copy"] = """
        import array, json
        from micronn.data import float_typecode, pack
        f = array.array("f", [1, 2, 3, 4, 5, 6])
        d = array.array("d", [1, 2, 3])
        i = array.array("i", [1, 2, 3])
        print(json.dumps([pack(f, 3, "f", "X")[0] is f, pack(f, 3, "d", "X")[0] is f,
                          list(pack(i, 3, "f", "X")[0]), [float_typecode(a) for a in (f, d, i)]]))
"""


def test_a_flat_array_of_the_right_type_is_used_without_a_copy(rt, results):
    got = results(rt)["no-copy"].value
    assert got == [True, False, [1.0, 2.0, 3.0], ["f", "d", None]]
