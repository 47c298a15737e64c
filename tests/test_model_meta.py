"""What a model carries besides its weights: input scaling (against NumPy), class names, input
and target names and a training summary; how the file format (version 2) keeps them, and how
readers old and new treat it.  Float32 weights and scaling factors throughout: comparisons
with NumPy allow float32 rounding (1e-6 relative) unless the two sides compute the same float32
operations."""
import functools
import json
import struct
import subprocess
import zlib

import numpy as np
import pytest

from conftest import ROOT

DATA = """
X = [[(i * 37 % 101) * 1.5, ((i * 11) % 13) / 13.0 - 0.5, 5.0, (i % 4) * 250.0] for i in range(40)]
Y = [[1.0, 0.0, 0.0] if x[0] > 100 else ([0.0, 1.0, 0.0] if x[3] > 300 else [0.0, 0.0, 1.0]) for x in X]
"""


def numpy_data():
    ns = {}
    exec(DATA, ns)
    return np.array(ns["X"]), np.array(ns["Y"])


CASES = {}       # key: code, run once per runtime in one interpreter (the `results` fixture)
for kind in ("standard", "minmax"):
    CASES["scaling", kind] = DATA + """
import json
from micronn import scale
s = scale.fit(X, 4, %r)
row = list(X[7])
s.apply(row)
print(json.dumps([list(s.offset), list(s.factor), row]))
""" % kind


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_scaling_fitted_on_rows_matches_numpy(rt, results, kind):
    offset, factor, row = results(rt)["scaling", kind].value
    X, _ = numpy_data()
    if kind == "standard":
        ref_o, spread = X.mean(axis=0), X.std(axis=0)          # population deviation
    else:
        ref_o, spread = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
    ref_f = np.where(spread > 0, 1.0 / np.where(spread > 0, spread, 1.0), 1.0)
    np.testing.assert_allclose(offset, ref_o.astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(factor, ref_f.astype(np.float32), rtol=1e-6)
    assert factor[2] == 1.0, "a constant column is shifted, not divided by zero"
    np.testing.assert_allclose(row, (X[7] - ref_o) * ref_f, rtol=1e-5, atol=1e-6)


CASES["scaled-network"] = DATA + """
import json, micronn
net = micronn.Network([4, 6, 3], activation="tanh", output="softmax", seed=3)
net.fit(X, Y, epochs=30, lr=0.2, loss="cce", scale="standard", batch_size=8)
plain = micronn.Network([4, 6, 3], activation="tanh", output="softmax", init=False)
plain.set_weights(net.get_weights())
print(json.dumps([list(net.scaler.offset), list(net.scaler.factor), net.predict_many(X), net.get_weights()]))
"""


def test_a_scaled_network_predicts_on_raw_inputs_what_it_would_on_scaled_ones(rt, results):
    """Train with scale="standard", then compare with the same weights in a network without a
    scaler fed inputs scaled by NumPy from the stored offsets and factors."""
    offset, factor, raw_pred, weights = results(rt)["scaled-network"].value
    X, _ = numpy_data()
    Xs = (X - np.array(offset)) * np.array(factor)
    h = np.tanh(Xs @ np.array(weights[0][0]) + np.array(weights[0][1]))
    z = h @ np.array(weights[1][0]) + np.array(weights[1][1])
    ref = np.exp(z - z.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(raw_pred, ref, rtol=0, atol=1e-5)


CASES["fitted-once"] = DATA + """
import json, micronn
net = micronn.Network([4, 5, 3], output="softmax", seed=1)
net.fit(X, Y, epochs=2, lr=0.1, loss="cce", scale="minmax")
first = list(net.scaler.offset)
net.fit([[v * 2 for v in x] for x in X], Y, epochs=2, lr=0.1, loss="cce", scale="standard")
print(json.dumps([first, list(net.scaler.offset), net.scaler.kind]))
"""


def test_the_scaler_is_fitted_once_and_kept_by_a_second_fit(rt, results):
    got = results(rt)["fitted-once"].value
    assert got[0] == got[1] and got[2] == "minmax"


META = DATA + """
import json, micronn
net = micronn.Network([4, 5, 3], activation="relu", output="softmax", seed=2)
net.fit(X, Y, epochs=20, lr=0.05, loss="cce", scale="standard")
net.classes = ["high", "wide", "other"]
net.inputs = ["temperature", "tilt", "ref", "light"]
net.targets = ["kind"]
net.summary = {"epochs": 20, "loss": 0.5, "note": "été"}
"""


LOAD = """
import json, micronn
m = micronn.load(%r)
print(json.dumps([m.classes, m.inputs, m.targets, m.summary, m.scaler.kind, list(m.scaler.offset),
                  m.predict_many(%r), [m.classify(x) for x in %r]]))
"""


@pytest.fixture(scope="session")
def saved(cpython, tmp_path_factory):
    """The META model saved by CPython as .mnn and as JSON: {format: (path, [its predictions,
    its labels])}."""
    tmp = tmp_path_factory.mktemp("meta")
    paths = {fmt: tmp / ("m." + fmt) for fmt in ("mnn", "json")}
    got = cpython.run_batch({fmt: META + """
net.save(%r, format=%r)
print(json.dumps([net.predict_many(X), [net.classify(x) for x in X]]))
""" % (str(path), fmt) for fmt, path in paths.items()})
    return {fmt: (path, got[fmt].value) for fmt, path in paths.items()}


@pytest.mark.parametrize("fmt", ["mnn", "json"])
def test_meta_survives_save_and_load_on_both_runtimes(request, saved, results, fmt):
    cpython, micropython = request.getfixturevalue("cpython"), request.getfixturevalue("micropython")
    for rt in (cpython, micropython):
        got = results(rt)["load", fmt].value
        classes, inputs, targets, summary, kind, offset, pred, labels = got
        assert classes == ["high", "wide", "other"] and targets == ["kind"]
        assert inputs == ["temperature", "tilt", "ref", "light"]
        assert summary == {"epochs": 20, "loss": 0.5, "note": "été"} and kind == "standard"
        np.testing.assert_allclose(pred, saved[fmt][1][0], rtol=0, atol=1e-6)
        assert labels == saved[fmt][1][1]
        # the labels are the arg-max of the outputs
        assert labels == [classes[int(np.argmax(p))] for p in pred]


CASES["single-sigmoid"] = """
import json, micronn
net = micronn.Network([2, 3, 1], output="sigmoid", seed=1)
net.classes = ["off", "on"]
out = []
for x in ([0.0, 0.0], [1.0, 1.0], [-3.0, 2.0]):
    out.append([net.predict(x)[0], net.classify(x)])
print(json.dumps(out))
"""


def test_a_single_sigmoid_output_classifies_with_two_names(rt, results):
    for p, label in results(rt)["single-sigmoid"].value:
        assert label == ("on" if p >= 0.5 else "off")


INT8 = """
q = micronn.quantize(net, X=X)
q.save(%(path)r)
again = micronn.load(%(path)r)
print(json.dumps([again.classes, again.scaler.kind, [again.classify(x) for x in X], [net.classify(x) for x in X],
                  again.predict_many(X), net.predict_many(X)]))
"""


def test_int8_models_keep_scaling_and_classes(rt, results):
    got = results(rt)["int8"].value
    classes, kind, q_labels, f_labels, q_pred, f_pred = got
    assert classes == ["high", "wide", "other"] and kind == "standard"
    np.testing.assert_allclose(q_pred, f_pred, atol=0.05)        # int8 against float32
    assert sum(a == b for a, b in zip(q_labels, f_labels)) >= 0.9 * len(f_labels)


def test_a_model_without_meta_is_still_written_as_version_1(rt, results):
    path = results(rt)["plain"].value
    assert open(path, "rb").read()[3] == 1


def _sectioned(data, tag, body):
    """The valid model file `data` with one more section (tag, body), CRC and section count fixed."""
    L = data[5]
    at = 8 + 2 * (L + 1) + L                     # the first section
    extra = tag + struct.pack("<I", len(body)) + body
    body = data[:7] + bytes([data[7] + 1]) + data[8:at] + extra + data[at:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def test_unknown_sections_lower_case_are_skipped_capitals_are_refused(rt, results):
    got = results(rt)
    assert got["skip"].value == ["high", "wide", "other"]
    kind, msg = got["must"].raised()
    assert kind == "ValueError" and "section 'CONV' is from a newer micronn" in msg and "must.mnn" in msg


def test_a_newer_version_is_refused_in_one_line(rt, results):
    kind, msg = results(rt)["v3"].raised()
    assert kind == "ValueError" and "format version 3" in msg and "reads versions 1 to 2" in msg


def test_a_version_2_file_on_the_version_1_reader_fails_in_one_line(saved, tmp_path):
    """The reader micronn shipped before version 2 (taken from the repository's history)."""
    old = tmp_path / "old" / "micronn"
    old.mkdir(parents=True)
    for name in ("__init__", "_upy", "activations", "data", "exact", "kernels", "losses", "model", "network",
                 "optim", "quant", "rng", "sizes", "store"):
        p = subprocess.run(["git", "show", "d483dac:lib/micronn/%s.py" % name], cwd=ROOT, capture_output=True)
        if p.returncode:
            pytest.skip("the version-1 reader is not in this checkout's history (a shallow clone)")
        (old / ("%s.py" % name)).write_bytes(p.stdout)
    path = saved["mnn"][0]
    p = subprocess.run(["python3", "-c", "import sys; sys.path.insert(0, %r)\nimport micronn\ntry:\n"
                        "    micronn.load(%r)\nexcept ValueError as e:\n    print(e)" % (str(old.parent), str(path))],
                       capture_output=True, text=True)
    assert p.stdout.strip() == "%s: .mnn format version 2; this micronn reads version 1" % path, p.stderr


BAD_META = [
    ({"scaler": {"kind": "log", "offset": [0, 0], "factor": [1, 1]}}, "standard or minmax"),
    ({"scaler": {"kind": "standard", "offset": [0], "factor": [1]}}, "one offset and factor per input"),
    ({"scaler": {"kind": "standard"}}, "lists of numbers"),
    ({"classes": "a,b"}, "'classes' must be a list of names"),
    ({"classes": ["a", "b", "c"]}, "3 class names for 2 outputs"),
]


def bad_meta_file(doc):
    base = {"format": "micronn", "version": 2, "layers": [2, 2], "activations": ["softmax"], "bias": False,
            "dtype": "f", "weights": [[[[1.0, 0.0], [0.0, 1.0]], None]]}
    base.update(doc)
    return json.dumps(base)


@pytest.mark.parametrize("doc, words", BAD_META)
def test_bad_meta_in_json_is_refused(rt, results, doc, words):
    kind, msg = results(rt)["bad-meta", words].raised()
    assert kind == "ValueError" and words in msg and "bad.json" in msg, msg


def test_unknown_scaling_is_refused_by_fit(rt, results):
    kind, msg = results(rt)["unknown-scaling"].raised()
    assert kind == "ValueError" and "unknown scaling 'log'" in msg


@pytest.fixture(scope="session")
def results(saved, tmp_path_factory):
    """results(rt): {key: Result} of every case of this file, run once per runtime in one
    interpreter, with the files the cases read made here first."""
    @functools.cache
    def on(rt):
        tmp = tmp_path_factory.mktemp("meta-" + rt.name)
        cases = dict(CASES)
        X = numpy_data()[0].tolist()
        for fmt, (path, _) in saved.items():
            cases["load", fmt] = LOAD % (str(path), X, X)
        cases["int8"] = META + INT8 % {"path": str(tmp / "q.mnn")}
        cases["plain"] = "import json, micronn\nmicronn.Network([2, 2], seed=1).save(%r)\nprint(json.dumps(%r))" \
            % (str(tmp / "plain.mnn"), str(tmp / "plain.mnn"))
        good = saved["mnn"][0].read_bytes()
        (tmp / "skip.mnn").write_bytes(_sectioned(good, b"xtra", b"anything"))
        (tmp / "must.mnn").write_bytes(_sectioned(good, b"CONV", b"\x01\x02"))
        cases["skip"] = "import json, micronn\nm = micronn.load(%r)\nprint(json.dumps(m.classes))" % str(tmp / "skip.mnn")
        cases["must"] = "import micronn\nmicronn.load(%r)" % str(tmp / "must.mnn")
        body = good[:3] + b"\x03" + good[4:-4]
        (tmp / "v3.mnn").write_bytes(body + struct.pack("<I", zlib.crc32(body)))
        cases["v3"] = "import micronn\nmicronn.load(%r)" % str(tmp / "v3.mnn")
        for k, (doc, words) in enumerate(BAD_META):
            path = tmp / ("bad-%d" % k) / "bad.json"
            path.parent.mkdir()
            path.write_text(bad_meta_file(doc))
            cases["bad-meta", words] = "import micronn\nmicronn.load(%r)" % str(path)
        cases["unknown-scaling"] = "import micronn\nmicronn.Network([2, 1]).fit([[0, 1]], [0], scale='log')"
        return rt.run_batch(cases)
    return on
