"""A 1-D CNN through the command line on a virtual ESP32: trained on the board on the gesture
example's windows, predicted there, fetched, quantized here, pushed back and predicted there as
int8.

Data: the example's simulated accelerometer (firmware/examples/sim_accel.py), read on this
computer at exactly 100 readings a second: 24 windows of 10 readings of x, y, z per gesture,
flattened channel-last as `micronn record` writes them (x_0,y_0,z_0,x_1,...,label).

References and precision: the fetched model run here with micronn, and the same float32 weights
and input scaling run by the independent NumPy CNN of tests/reference_conv.py in float64.  The
board is the 64-bit unix port, whose floats are float64 like CPython's; the model is float32 on
both sides (weights, scaling and every layer's outputs rounded to float32), so the board and
this computer compute the same float32 network, summed in different orders: they may differ in
the last bits of a float32 (measured: at most 4e-8), and the test allows 1e-6 on the softmax
outputs, the bound docs/commands.md states for a board.  The float64 reference differs by the
float32 rounding of each layer (measured: 3e-8): 1e-6 allowed too.  The int8 model computes
integers, the same on both sides, then the same float64 softmax: the same outputs, bit for bit.
Its class for each row is then the host's int8 class, and it must be the float model's wherever
the float model's top two outputs are further apart than twice the largest difference between
the two models that `micronn quantize` reports.
"""
import csv
import importlib.util
import json
import re

import numpy as np
import pytest

import micronn
from boards import cli, deployed
from conftest import ROOT
from reference_conv import ref_layers

pytestmark = pytest.mark.board

GESTURES = ("circle", "shake", "still")
WINDOW, ROWS, RATE = 10, 24, 100
CNN = ["--layers", "10x3,conv8k3,maxpool2,16", "--activation", "tanh", "--optimizer", "adam", "--lr", "0.01",
       "--batch-size", "8", "--epochs", "300", "--val", "0.25", "--patience", "40", "--seed", "1"]


def gesture_rows():
    """The example's gestures from its simulated accelerometer, its clock stepped by hand."""
    spec = importlib.util.spec_from_file_location("sim_accel", ROOT / "firmware" / "examples" / "sim_accel.py")
    accel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(accel)
    clock = {"ms": 0}

    class Time:
        @staticmethod
        def ticks_ms():
            return clock["ms"]

    accel.time = Time
    rows = []
    for g in GESTURES:
        accel.start(g)
        for _ in range(ROWS):
            row = []
            for _ in range(WINDOW):
                row += accel.read()
                clock["ms"] += 1000 // RATE
            rows.append(row + [g])
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("gestures") / "gestures.csv"
    rows = gesture_rows()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["%s_%d" % (a, i) for i in range(WINDOW) for a in "xyz"] + ["label"])
        w.writerows([["%.6f" % v for v in r[:-1]] + [r[-1]] for r in rows])
    X = [[float(v) for v in r[:-1]] for r in list(csv.reader(open(path)))[1:]]
    return path, X, [r[-1] for r in rows]


@pytest.fixture(scope="module")
def board(tmp_path_factory, data):
    """A virtual ESP32 with micronn deployed and the CNN trained on it as model "cnn"."""
    for sim in deployed(tmp_path_factory.mktemp("esp32"), "esp32"):
        sim.train = cli("train", data[0], *CNN, "--model", "cnn", port=sim.port, check=True, timeout=300)
        yield sim


def board_outputs(board, data, model):
    js = json.loads(cli("predict", "--csv", data[0], "--model", model, "--json", port=board.port,
                        check=True).stdout)
    assert len(js) == len(data[1])
    return [r["label"] for r in js], np.array([r["outputs"] for r in js])


def test_the_cnn_trains_on_the_board(board, data):
    out = board.train.stdout
    assert "3 classes: circle, shake, still" in out, out
    assert "training 10x3-conv8k3-maxpool2-16-3 (659 parameters) on the board" in out, out
    assert re.search(r"trained \d+ epochs .* on the board", out), out
    rep = json.loads(cli("evaluate", data[0], "--model", "cnn", "--json", port=board.port, check=True).stdout)
    assert rep["rows"] == 3 * ROWS and rep["accuracy"] >= 0.9, rep


def test_the_boards_float_outputs_are_the_hosts(board, data, tmp_path):
    path, X, _ = data
    cli("fetch", "--model", "cnn", "-o", tmp_path / "cnn.mnn", port=board.port, check=True)
    net = micronn.load(str(tmp_path / "cnn.mnn"))
    assert net.spec == ["10x3", "conv8k3", "maxpool2", 16, 3] and net.classes == list(GESTURES)
    labels, got = board_outputs(board, data, "cnn")
    here = np.array(net.predict_many(X))
    np.testing.assert_allclose(got, here, rtol=0, atol=1e-6)
    assert labels == [net.classify(x) for x in X]
    # the same weights and scaling in the NumPy CNN (float64)
    sc = net.scaler
    Xs = (np.array(X) - np.array(list(sc.offset))) * np.array(list(sc.factor))
    ref = ref_layers(net.spec, net.get_weights(), "tanh", "softmax").forward(Xs)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    p = cli("predict", "--csv", path, "--model", "cnn", "--compare", port=board.port, check=True)
    assert float(p.stdout.strip().splitlines()[-1].split()[-1]) <= 1e-6


def test_the_int8_cnn_predicts_on_the_board_with_the_hosts_classes(board, data, tmp_path):
    path, X, _ = data
    cli("fetch", "--model", "cnn", "-o", tmp_path / "cnn.mnn", port=board.port, check=True)
    q = cli("quantize", tmp_path / "cnn.mnn", "-o", tmp_path / "cnn8.mnn", "--data", path, check=True).stdout
    m = re.search(r"largest output difference on .*: ([\d.e-]+)\n.*float ([\d.]+)%, int8 ([\d.]+)%", q)
    assert m, q
    diff, int8_acc = float(m.group(1)), float(m.group(3))
    net = micronn.load(str(tmp_path / "cnn.mnn"))
    q8 = micronn.load(str(tmp_path / "cnn8.mnn"))
    assert q8.dtype == "b" and q8.spec == net.spec and q8.classes == net.classes
    cli("push", tmp_path / "cnn8.mnn", "--model", "cnn8", port=board.port, check=True)
    assert board.read("/models/cnn8.mnn") == (tmp_path / "cnn8.mnn").read_bytes()

    labels, got = board_outputs(board, data, "cnn8")
    assert got.tolist() == q8.predict_many(X)
    assert labels == [q8.classify(x) for x in X]
    # and the float model's class wherever quantization cannot have changed it
    floats = np.array(net.predict_many(X))
    top2 = np.sort(floats, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * diff
    assert clear.sum() >= 0.9 * len(X), (clear.sum(), diff)
    for i in np.flatnonzero(clear):
        assert labels[i] == net.classes[int(np.argmax(floats[i]))], i
    rep = json.loads(cli("evaluate", path, "--model", "cnn8", "--json", port=board.port, check=True).stdout)
    assert rep["accuracy"] == pytest.approx(int8_acc / 100, abs=1e-9)


def test_a_cnn_too_large_for_the_heap_is_refused_before_it_trains(board, tmp_path):
    """The bench's 50x3-conv8k5-maxpool2-16-3 (3,139 parameters, 150 inputs with their names
    and scaling to save) on 150 rows: on this virtual ESP32 it either trains and is saved, or it
    is refused before its first epoch with the heap's numbers; never trained and then lost for
    want of the heap its save needs (which it was, once, with the check counting too little)."""
    import random
    r = random.Random(5)
    data = tmp_path / "win50.csv"
    head = ",".join("%s_%d" % (c, i) for i in range(50) for c in "xyz")
    data.write_text(head + ",label\n" + "".join(
        ",".join("%.3f" % r.uniform(-1, 1) for _ in range(150)) + ",%s\n" % GESTURES[i % 3] for i in range(150)))
    before = board.names("/models")
    p = cli("train", data, "--target", "label", "--layers", "50x3,conv8k5,pool2,16", "--activation", "relu",
            "--batch-size", "1", "--epochs", "2", "--model", "win50", port=board.port, timeout=300)
    if p.returncode == 0:
        assert "model saved to /models/win50.mnn" in p.stdout, p.stdout
    else:
        msg = p.stderr.strip().splitlines()
        assert len(msg) == 1 and msg[0].startswith("micronn: not enough memory on the board: training "
                                                   "50x3-conv8k5-maxpool2-16-3"), p.stderr
        assert "(3139 parameters) on the board" not in p.stdout, p.stdout     # training never started
        assert board.names("/models") == before
