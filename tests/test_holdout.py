"""Hold-out rows, early stopping and the best weights (micronn.train, runner.Trainer), and class
labels (micronn.classes), on CPython and MicroPython."""
import pytest

DATA = """
X = [[(i * 37 % 101) * 0.1, ((i * 11) % 13) * 0.5 - 3.0, (i % 7) * 2.0] for i in range(90)]
L = ["low" if x[0] < 3.5 else ("mid" if x[0] < 7 else "high") for x in X]
"""


def test_the_split_is_stratified_and_seeded_the_same_everywhere(rt, cpython):
    code = DATA + """
import json
from micronn import classes
names, Y = classes.encode(L)
tr, va = classes.split(Y, 0.2, seed=5)
tr2, va2 = classes.split(Y, 0.2, seed=6)
print(json.dumps([names, tr, va, va2, [L.count(n) for n in names], [[L[i] for i in va].count(n) for n in names]]))
"""
    names, tr, va, va2, counts, val_counts = rt.run(code)
    assert names == ["high", "low", "mid"]
    assert sorted(tr + va) == list(range(90)) and not set(tr) & set(va)
    # each class split in the same proportion, rounded per class
    assert val_counts == [int(0.2 * c + 0.5) for c in counts]
    assert va != va2
    assert cpython.run(code)[2] == va        # the same rows on both platforms


def test_a_fraction_that_leaves_one_side_empty_is_refused(rt):
    got = rt.run("""
import json
from micronn import classes
out = []
for f in (0.01, 0.99, 1.5):
    try:
        classes.split([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5, f)
        out.append("no error")
    except ValueError as e:
        out.append(str(e))
for names in (None, ["off", "on"]):     # a class of one row, all of it held out
    try:
        classes.split([[1.0, 0.0]] * 5 + [[0.0, 1.0]], 0.5, names=names)
        out.append("no error")
    except ValueError as e:
        out.append(str(e))
print(json.dumps(out))
""")
    assert "leaves no validation rows" in got[0]
    assert "leaves no training rows" in got[1]
    assert "val must be a fraction between 0 and 1" in got[2]
    assert got[3].startswith("val 0.5 leaves no training rows of class 1 (its 1 row would all be validation rows)")
    assert got[4].startswith("val 0.5 leaves no training rows of class 'on' (its 1 row")


def test_early_stopping_keeps_the_weights_of_the_best_epoch(rt):
    got = rt.run(DATA + """
import json, micronn
from micronn import classes
names, Y = classes.encode(L)
net = micronn.Network([3, 12, 3], activation="tanh", output="softmax", seed=2)
net.classes = names
points = []
s = micronn.train(net, X, Y, val=0.3, patience=5, epochs=400, lr=0.3, loss="cce", optimizer="adam",
                  batch_size=8, scale="standard", callback=lambda e, l, sc: points.append([e, sc["val_loss"]]))
tr, va = classes.split(Y, 0.3, 0)
again = net.evaluate([X[i] for i in va], [Y[i] for i in va])
print(json.dumps([s, points, again]))
""")
    s, points, again = got
    assert s["stopped_early"] and s["epochs"] == s["best_epoch"] + 5 < 400
    assert len(points) == s["epochs"]
    best = min(p[1] for p in points)
    assert s["val_loss"] == best and [p[0] for p in points if p[1] == best] == [s["best_epoch"]]
    # the network holds the best epoch's weights: its loss on the hold-out rows is that epoch's
    assert again == pytest.approx(best, rel=1e-9)
    assert 0.0 <= s["val_accuracy"] <= 1.0 and s["val_rows"] == 27 and s["rows"] == 63


def test_class_names_sort_as_numbers_when_they_are_and_unknown_labels_are_named(rt):
    got = rt.run("""
import json
from micronn import classes
out = [classes.names(["10", "2", "1"]), classes.names(["b", "a", "B"]), classes.encode([2, "1.0"], ["1", "2"])[1]]
try:
    classes.encode(["a", "z"], ["a", "b"])
except ValueError as e:
    out.append(str(e))
print(json.dumps(out))
""")
    assert got[0] == ["1", "2", "10"] and got[1] == ["B", "a", "b"]
    assert got[2] == [[0.0, 1.0], [1.0, 0.0]]
    assert got[3] == "row 1: class 'z' is not one of the model's classes (a, b)"
