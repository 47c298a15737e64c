"""micronn.metrics against scikit-learn's: the confusion matrix, accuracy, per-class precision,
recall and F1 (exact: they are ratios of counts, compared to 1e-12 on float64 runtimes, 1e-6 on
float32 ones), and MSE, MAE and R² (compared to 1e-9 relative in float64, 1e-5 where the runtime's
float is float32), counted row by row on CPython and MicroPython."""
import numpy as np
import pytest
from sklearn import metrics as sk

K = 4
REL = {False: 1e-9, True: 1e-5}      # by whether the runtime computes in float32
ABS = {False: 1e-12, True: 1e-6}
CASES = """
T = [(i * 7 + i // 3) %% %(k)d for i in range(%(n)d)]
P = [t if (i * 13) %% 5 else (t + 1 + i %% 2) %% %(k)d for i, t in enumerate(T)]
P[3] = 0                           # a few more mistakes into class 0
""" % {"k": K, "n": 97}


def labels():
    ns = {}
    exec(CASES, ns)
    return ns["T"], ns["P"]


def test_confusion_matrix_accuracy_precision_recall_f1_match_sklearn(rt):
    got = rt.run(CASES + """
import json
from micronn import metrics
c = metrics.Confusion(%d)
for t, p in zip(T, P):
    c.add(p, t)
print(json.dumps(c.report(["a", "b", "c", "d"])))
""" % K)
    T, P = labels()
    assert got["confusion"] == sk.confusion_matrix(T, P, labels=range(K)).tolist()
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(T, P), abs=ABS[rt.float32])
    p, r, f, s = sk.precision_recall_fscore_support(T, P, labels=range(K), zero_division=0)
    for i, name in enumerate("abcd"):
        c = got["per_class"][name]
        assert c["precision"] == pytest.approx(p[i], abs=ABS[rt.float32])
        assert c["recall"] == pytest.approx(r[i], abs=ABS[rt.float32])
        assert c["f1"] == pytest.approx(f[i], abs=ABS[rt.float32])
        assert c["support"] == s[i]
    assert got["macro_f1"] == pytest.approx(sk.f1_score(T, P, average="macro", zero_division=0), abs=ABS[rt.float32])


def test_a_class_never_predicted_or_never_present_counts_zero_like_sklearn(rt):
    got = rt.run("""
import json
from micronn import metrics
c = metrics.Confusion(3)
for t, p in [(0, 0), (0, 1), (1, 1), (1, 0)]:    # class 2: neither true nor predicted
    c.add(p, t)
print(json.dumps(c.report()))
""")
    p, r, f, _ = sk.precision_recall_fscore_support([0, 0, 1, 1], [0, 1, 1, 0], labels=[0, 1, 2], zero_division=0)
    assert [got["per_class"][str(i)]["f1"] for i in range(3)] == pytest.approx(list(f), abs=ABS[rt.float32])
    assert got["per_class"]["2"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


REG = """
Y = [[i * 0.5 - 3.0, (i * 37 % 11) * 0.25] for i in range(31)]
P = [[y[0] + ((i * 7) % 5 - 2) * 0.1, y[1] * 0.8 + 0.3] for i, y in enumerate(Y)]
"""


def test_mse_mae_r2_match_sklearn(rt):
    got = rt.run(REG + """
import json
from micronn import metrics
r = metrics.Regression(2)
for p, y in zip(P, Y):
    r.add(p, y)
print(json.dumps(r.report(["u", "v"])))
""")
    ns = {}
    exec(REG, ns)
    Y, P = np.array(ns["Y"]), np.array(ns["P"])
    assert got["mse"] == pytest.approx(sk.mean_squared_error(Y, P), rel=REL[rt.float32])
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(Y, P), rel=REL[rt.float32])
    assert got["r2"] == pytest.approx(sk.r2_score(Y, P), rel=REL[rt.float32])
    assert got["per_output"]["v"]["r2"] == pytest.approx(sk.r2_score(Y[:, 1], P[:, 1]), rel=REL[rt.float32])


def test_r2_of_a_constant_target_is_sklearns(rt):
    got = rt.run("""
import json
from micronn import metrics
a, b = metrics.Regression(1), metrics.Regression(1)
for y in range(5):
    a.add([2.0], [2.0])
    b.add([2.0 + y], [2.0])
print(json.dumps([a.r2(0), b.r2(0)]))
""")
    assert got == [sk.r2_score([2.0] * 5, [2.0] * 5), sk.r2_score([2.0] * 5, [2.0 + y for y in range(5)])]
