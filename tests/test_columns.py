"""Data as it comes, on this computer: columns chosen by name or number, class labels as text or
(--classes) numbers, layer sizes completed from the data, `fit --resume`, `evaluate --file` for a
regression model (against NumPy, float32 outputs: 1e-6 relative), `plot` of a classifier."""
import csv
import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import micronn
from boards import cli, one_error_line
from micronn_host import dataset
from micronn_host.errors import DataError

pytestmark = pytest.mark.slow


def table(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return dataset.read_table(str(p))


def test_columns_by_name_or_number_and_several_numeric_targets(tmp_path):
    t = table(tmp_path, "a,b,note,c,y1,y2\n1,2,x,3,4,5\n6,7,y,8,9,10\n")
    d = dataset.select(t, ["y1,y2"], None, ["note"])
    assert d.inputs == ["a", "b", "c"] and d.targets == ["y1", "y2"] and d.classes is None
    assert d.X == [[1, 2, 3], [6, 7, 8]] and d.Y == [[4, 5], [9, 10]]
    d = dataset.select(t, ["5"], ["0", "c"], None)
    assert d.inputs == ["a", "c"] and d.Y == [[5], [10]]
    with pytest.raises(DataError, match=r"--target colour: no such column \(the columns are a, b, note"):
        dataset.select(t, ["colour"], None, None)
    with pytest.raises(DataError, match=r"line 2, column 3: 'x' is not a number \(note is an input column"):
        dataset.select(t, ["y2"], None, None)


def test_a_text_target_makes_a_classifier_and_a_header_is_told_from_data(tmp_path):
    t = table(tmp_path, "5.1,3.5,setosa\n4.9,3.0,virginica\n5.0,3.6,setosa\n")
    assert t.header is None and len(t.rows) == 3            # text in both lines' last column: no header
    d = dataset.select(t, None, None, None)
    assert d.classes == ["setosa", "virginica"] and d.labels == [0, 1, 0] and d.Y[1] == [0.0, 1.0]


def test_numeric_labels_with_classes_sort_as_numbers(tmp_path):
    digits = load_digits()
    rows = [list(map(int, x)) + [int(y)] for x, y in zip(digits.data[:300], digits.target[:300])]
    p = tmp_path / "digits.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["p%d" % i for i in range(64)] + ["digit"])
        w.writerows(rows)
    out = cli("fit", p, "--classes", "--layers", "24", "--epochs", 30, "--lr", "0.05", "--optimizer", "adam",
              "--seed", "1", "--val", "0.2", "-o", tmp_path / "d.mnn", check=True).stdout
    assert "network 64-24-10 sigmoid-softmax, loss cce; 10 classes: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9" in out
    assert "inputs scaled inside the model (standard)" in out and "240 training rows, 60 validation rows" in out
    rep = json.loads(cli("evaluate", p, "--file", tmp_path / "d.mnn", "--json", check=True).stdout)
    assert rep["classes"] == [str(i) for i in range(10)] and rep["accuracy"] > 0.8


def test_layers_are_completed_from_the_data(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("x1,x2,x3,t\n" + "".join("%d,%d,%d,%g\n" % (i, i % 3, i % 5, i * 0.1) for i in range(20)))
    out = cli("fit", p, "--layers", "6", "--epochs", 2, "-o", tmp_path / "a.mnn", check=True).stdout
    assert out.startswith("network 3-6-1 ")
    out = cli("fit", p, "--target", "t", "--layers", "6,5", "--epochs", 2, "-o", tmp_path / "c.mnn", check=True).stdout
    assert out.startswith("network 3-6-5-1 ")
    # a numeric CSV without --target: a list of two or more sizes is all of them, checked
    msg = one_error_line(cli("fit", p, "--layers", "6,5", "-o", tmp_path / "d.mnn"))
    assert msg == "micronn: --outputs 1, but the layers end with 5 outputs (6-5)"
    out = cli("fit", p, "--layers", "3,6,1", "--epochs", 2, "-o", tmp_path / "b.mnn", check=True).stdout
    assert out.startswith("network 3-6-1 ")
    # with --target: a list with one end the data's and the other not is a full list gone wrong
    for given, wrong in (("4,6,1", "starts with 4, not its 3 inputs"), ("3,6,2", "ends with 2, not its 1 outputs")):
        msg = one_error_line(cli("fit", p, "--target", "t", "--layers", given, "-o", tmp_path / "e.mnn"))
        assert msg.startswith("micronn: --layers %s: %s has 3 inputs and 1 outputs, and the list %s; " % (given, p, wrong))
        assert not (tmp_path / "e.mnn").exists()


def test_evaluate_a_regression_model_here_against_numpy(tmp_path):
    p = tmp_path / "r.csv"
    rows = [[i * 0.1, (i * 7 % 11) * 0.2, i * 0.3 - (i * 7 % 11) * 0.1] for i in range(40)]
    p.write_text("u,v,w\n" + "".join("%g,%g,%g\n" % tuple(r) for r in rows))
    cli("fit", p, "--target", "w", "--layers", "8", "--activation", "tanh", "--output", "linear", "--epochs", 200,
        "--lr", "0.05", "--scale", "standard", "--seed", "3", "-o", tmp_path / "m.mnn", check=True)
    rep = json.loads(cli("evaluate", p, "--file", tmp_path / "m.mnn", "--json", check=True).stdout)
    net = micronn.load(str(tmp_path / "m.mnn"))
    y = np.array([r[2] for r in rows])
    pred = np.array([net.predict(r[:2])[0] for r in rows])
    assert rep["mse"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-6)
    assert rep["mae"] == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-6)
    assert rep["r2"] == pytest.approx(1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-6)
    assert "accuracy" not in rep


def test_fit_keeps_an_existing_model_unless_told_and_resumes_it(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("a,b,kind\n" + "".join("%d,%d,%s\n" % (i, i % 4, "odd" if i % 2 else "even") for i in range(30)))
    m = tmp_path / "c.mnn"
    cli("fit", p, "--layers", "4", "--epochs", 5, "--seed", "1", "-o", m, check=True)
    before = m.read_bytes()
    msg = one_error_line(cli("fit", p, "--layers", "4", "-o", m))
    assert msg == "micronn: %s exists: --overwrite to replace it, --resume to continue training it, or another -o" % m
    assert m.read_bytes() == before
    out = cli("fit", p, "--resume", "--epochs", 7, "-o", m, check=True).stdout
    assert out.startswith("continuing 2-4-2 sigmoid-softmax, loss cce; 2 classes: even, odd")
    assert micronn.load(str(m)).summary["epochs"] == 12
    assert "trained 7 epochs (12 in all) in " in out, out
    before = m.read_bytes()
    for other in ("minmax", "none"):      # the model scales (standard, a classifier's default) and keeps it
        msg = one_error_line(cli("fit", p, "--resume", "--scale", other, "-o", m))
        assert msg == ("micronn: --resume --scale %s: the model scales its inputs (standard), and a resumed model "
                       "keeps its scaling; leave --scale out, or train a new model" % other)
    assert m.read_bytes() == before
    cli("fit", p, "--resume", "--scale", "standard", "--epochs", 1, "-o", m, check=True)
    q = tmp_path / "other.csv"
    q.write_text("a,c,kind\n1,2,odd\n2,3,even\n")
    msg = one_error_line(cli("fit", q, "--resume", "-o", m))
    assert "the model was trained on a, b" in msg or "no target column" in msg or "input columns" in msg, msg
    msg = one_error_line(cli("fit", p, "--resume", "--layers", "5", "-o", m))
    assert "--resume: --layers 5, but the model is 2-4-2" in msg


def test_plot_of_a_classifier_draws_loss_accuracy_and_the_confusion_matrix(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("a,b,kind\n" + "".join("%d,%d,%s\n" % (i, i % 4, "odd" if i % 2 else "even") for i in range(30)))
    cli("fit", p, "--layers", "4", "--epochs", 20, "--val", "0.3", "--seed", "1", "-o", tmp_path / "c.mnn",
        "--history", tmp_path / "h.csv", check=True)
    head = (tmp_path / "h.csv").read_text().splitlines()[0]
    assert head == "epoch,loss,val_loss,accuracy,val_accuracy"
    out = cli("plot", tmp_path / "h.csv", "--model", tmp_path / "c.mnn", "--data", p, "-o", tmp_path / "p.png",
              check=True).stdout
    assert "plot written" in out and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    import matplotlib.image
    h, w = matplotlib.image.imread(str(tmp_path / "p.png")).shape[:2]
    assert w > 2.5 * h                  # three panels side by side: loss, accuracy, confusion matrix


def test_a_json_name_gets_the_readable_form(tmp_path):
    """-o NAME.json writes the JSON twin (it wrote the binary .mnn under a .json name): the same
    model as -o NAME.mnn from the same seed; an int8 model, which has no JSON form, is one line."""
    p = tmp_path / "c.csv"
    p.write_text("a,b,kind\n" + "".join("%d,%d,%s\n" % (i, i % 4, "odd" if i % 2 else "even") for i in range(30)))
    for name in ("m.json", "m.mnn"):
        cli("fit", p, "--layers", "4", "--epochs", 5, "--seed", "1", "-o", tmp_path / name, check=True)
    doc = json.loads((tmp_path / "m.json").read_text())
    assert doc["format"] == "micronn" and doc["classes"] == ["even", "odd"]
    a, b = micronn.load(str(tmp_path / "m.json")), micronn.load(str(tmp_path / "m.mnn"))
    assert a.get_weights() == b.get_weights() and a.classes == b.classes
    msg = one_error_line(cli("quantize", tmp_path / "m.mnn", "-o", tmp_path / "q.json", "--data", p))
    assert msg == "micronn: %s: quantized models are saved as .mnn only, not 'json'" % (tmp_path / "q.json")
    assert not (tmp_path / "q.json").exists()
