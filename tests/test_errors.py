"""Bad input gives a ValueError that says what was expected and what was found, on both runtimes."""
import functools

import pytest

SETUP = """
import micronn
X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]
net = micronn.Network([3, 4, 1], seed=1)
"""

CASES = {
    # name: (code, words the message must contain)
    "ragged-row": ("net.fit([[0, 0, 1], [0, 1], [1, 0, 1]], [0, 1, 1])", ["X row 1 has 2 values, expected 3", "3 inputs"]),
    "wrong-input-width": ("net.fit([[0, 1]] * 4, Y)", ["X row 0 has 2 values, expected 3"]),
    "wrong-output-width": ("net.fit(X, [[0, 1]] * 4)", ["Y row 0 has 2 values, expected 1", "1 outputs"]),
    "sample-count": ("net.fit(X, Y[:3])", ["X has 4 samples but Y has 3"]),
    "empty-X": ("net.fit([], [])", ["X is empty"]),
    "nan": ("net.fit([[0, 0, 1], [0, float('nan'), 1]], [0, 1])", ["X row 1, column 1", "nan", "finite"]),
    "inf-target": ("net.fit(X, [0, 1, float('inf'), 0])", ["Y row 2, column 0", "inf", "finite"]),
    "string": ("net.fit([[0, 0, 'a']], [0])", ["X row 0, column 2", "'a' is not a number"]),
    "none-row": ("net.fit([None], [0])", ["X row 0 is None", "3 numbers"]),
    "not-rows": ("net.fit(5, Y)", ["X must be a list of rows"]),
    "flat-array": ("import array\nnet.fit(array.array('f', [1, 2, 3, 4]), [0])", ["flat array of 4 values", "rows of 3"]),
    "predict-width": ("net.predict([1, 2])", ["sample has 2 values, expected 3"]),
    "predict-nan": ("net.predict([1, float('nan'), 2])", ["input 1", "finite"]),
    "predict-many-ragged": ("net.predict_many([[1, 2, 3], [1]])", ["X row 1 has 1 values"]),
    "unknown-activation": ("micronn.Network([3, 4, 1], activation='sigmod')", ["unknown activation 'sigmod'", "sigmoid, tanh"]),
    "unknown-output": ("micronn.Network([3, 4, 1], output='gelu')", ["unknown activation 'gelu'"]),
    "hidden-softmax": ("micronn.Network([3, 4, 2], activation='softmax')", ["softmax is only allowed as the output"]),
    "softmax-one-unit": ("micronn.Network([3, 4, 1], output='softmax')", ["at least 2 units"]),
    "activation-list": ("micronn.Network([3, 4, 4, 1], activation=['tanh'])", ["1 names", "2 hidden layers"]),
    "unknown-loss": ("net.fit(X, Y, loss='mae')", ["unknown loss 'mae'", "sse, mse, bce, cce"]),
    "bce-needs-sigmoid": ("micronn.Network([3, 2], output='tanh').fit(X, Y * 1, loss='bce')", ["'bce' needs output='sigmoid'", "'tanh'"]),
    "cce-needs-softmax": ("net.fit(X, Y, loss='cce')", ["'cce' needs output='softmax'"]),
    "unknown-optimizer": ("net.fit(X, Y, optimizer='rmsprop')", ["unknown optimizer 'rmsprop'"]),
    "unknown-init": ("micronn.Network([3, 1], init='normal')", ["unknown init 'normal'"]),
    "unknown-dtype": ("micronn.Network([3, 1], dtype='h')", ["unknown dtype 'h'"]),
    "one-layer-size": ("micronn.Network([3])", ["at least an input and an output size"]),
    "zero-size": ("micronn.Network([3, 0, 1])", ["layer size 1 is 0"]),
    "float-size": ("micronn.Network([3, 2.5, 1])", ["layer size 1 is 2.5"]),
    "negative-lr": ("net.fit(X, Y, lr=-1)", ["lr must be a finite number > 0", "got -1"]),
    "nan-lr": ("net.fit(X, Y, lr=float('nan'))", ["lr must be a finite number > 0", "nan"]),
    "inf-lr": ("net.fit(X, Y, lr=float('inf'))", ["lr must be a finite number > 0", "inf"]),
    "zero-epochs": ("net.fit(X, Y, epochs=0)", ["epochs must be a whole number >= 1", "got 0"]),
    "bad-epochs": ("net.fit(X, Y, epochs=1.5)", ["epochs must be a whole number"]),
    "bad-batch": ("net.fit(X, Y, batch_size=0)", ["batch_size must be a whole number >= 1"]),
    "bad-callback": ("net.fit(X, Y, callback=3)", ["callback must be callable"]),
    "weights-layers": ("net.set_weights([])", ["one [W, b] pair per layer (2)", "0 items"]),
    "weights-rows": ("net.set_weights([[[[1, 2, 3, 4]] * 2, [0] * 4], [[[1]] * 4, [0]]])", ["layer 0: W must have 3 rows", "2 items"]),
    "weights-cols": ("net.set_weights([[[[1, 2, 3, 4]] * 3, [0] * 4], [[[1, 2]] * 4, [0]]])", ["layer 1: W row 0 must have 1 values"]),
    "weights-bias": ("net.set_weights([[[[1, 2, 3, 4]] * 3, None], [[[1]] * 4, [0]]])", ["layer 0: b must have 4 values"]),
    "weights-nan": ("net.set_weights([[[[1, 2, 3, 4]] * 3, [0] * 4], [[[1], [2], [float('nan')], [4]], [0]]])", ["layer 1: W[2][0]", "finite"]),
    "weights-no-bias": ("micronn.Network([3, 1], bias=False).set_weights([[[[1]] * 3, [0]]])", ["no biases, but b is given"]),
    "unknown-format": ("net.save('x.bin', format='pickle')", ["unknown model format 'pickle'"]),
}


SETS_WEIGHTS_OR_NOTHING = SETUP + """
import json
before = net.get_weights()
try:
    net.set_weights([[[[9, 9, 9, 9]] * 3, [9] * 4], [[[1, 2]] * 4, [0]]])
except ValueError:
    pass
print(json.dumps(net.get_weights() == before))
"""


@pytest.fixture(scope="session")
def outcomes():
    """Every case of this file run once per runtime, all in one interpreter."""
    cases = {name: SETUP + code for name, (code, _) in CASES.items()}
    cases["failed-set-weights"] = SETS_WEIGHTS_OR_NOTHING
    return functools.cache(lambda rt: rt.run_batch(cases))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_the_problem(rt, outcomes, case):
    kind, msg = outcomes(rt)[case].raised()
    assert kind == "ValueError", (kind, msg)
    for w in CASES[case][1]:
        assert w in msg, msg


def test_failed_set_weights_changes_nothing(rt, outcomes):
    assert outcomes(rt)["failed-set-weights"].value is True
