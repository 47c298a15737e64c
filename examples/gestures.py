"""From sensor to model: three gestures from a simulated accelerometer on a virtual ESP32, the way
a user would type it (README, "From sensor to model").

Records each gesture on the board (firmware/examples/sim_accel.py as the board's accel.py), and
test rows after them; trains three classifiers there on the same rows with a hold-out set and
early stopping, a dense network (30-16-3) and two 1-D CNNs (MODELS); for each,
evaluates it on the test rows, makes an int8 copy here, pushes and evaluates that; runs
firmware/examples/gesture_main.py as the board's main.py, which prints the gesture's name; and
ends with a table of the models' accuracy and size.  Everything it makes goes to OUT (default
demo-out/gestures); `python examples/gestures.py [OUT]`.
"""
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MICRONN = str(BIN / "micronn")
MPREMOTE = str(BIN / "mpremote")
GESTURES = ("circle", "shake", "still")
TRAIN = ["--activation", "tanh", "--optimizer", "adam", "--lr", 0.01, "--batch-size", 8, "--epochs", 300,
         "--val", 0.25, "--patience", 40, "--seed", 1]
#: (model name, what it is, its --layers) over windows of 10 readings of x, y, z: a dense network;
#: a CNN of the usual shape (8 filters over 3 readings, max-pooling by 2, a dense layer); and one
#: that averages its 8 filters over the whole window (gap) straight into the outputs
MODELS = (("gestures", "dense", "16"), ("gestures_cnn", "CNN", "10x3,conv8k3,maxpool2,16"),
          ("gestures_gap", "CNN", "10x3,conv8k3,gap"))


def step(*args, tool=MICRONN, capture=False):
    """Run one command as a user would, showing it and what it prints; with capture, its stdout
    is also returned."""
    print("\n$ %s %s" % (Path(tool).name, " ".join(shlex.quote(str(a)) for a in args)), flush=True)
    t0 = time.monotonic()
    p = subprocess.run([tool] + [str(a) for a in args], cwd=ROOT, check=True, text=True,
                       stdout=subprocess.PIPE if capture else None)
    if capture:
        print(p.stdout, end="", flush=True)
        return p.stdout
    return time.monotonic() - t0


def accuracy(report):
    """The percentage in an `evaluate` report."""
    return float(re.search(r"^accuracy ([\d.]+)%", report, re.M).group(1))


def main(out=None):
    out = Path(out or ROOT / "demo-out" / "gestures").resolve()
    out.mkdir(parents=True, exist_ok=True)
    data, test = out / "gestures.csv", out / "gestures_test.csv"
    for f in (data, test):
        if f.exists():
            f.unlink()
    port = out / "port"
    board_dir = out / "board"
    board_dir.mkdir(exist_ok=True)
    sim = subprocess.Popen([MICRONN, "sim", "--board", "esp32", "--dir", board_dir, "--link", port], cwd=ROOT)
    times = {}
    table = []
    try:
        deadline = time.monotonic() + 30
        while not port.is_symlink():
            if sim.poll() is not None or time.monotonic() > deadline:
                sys.exit("micronn sim did not start")
            time.sleep(0.05)
        os.environ["MICRONN_PORT"] = str(port)
        step("deploy")
        step("connect", port, "cp", "firmware/examples/sim_accel.py", ":accel.py", tool=MPREMOTE)
        times["record"] = 0.0
        for path, rows in ((data, 24), (test, 12)):
            for g in GESTURES:
                times["record"] += step("record", path, "--module", "accel", "--label", g, "--rate", 100,
                                        "--window", 10, "--rows", rows, "--columns", "x,y,z")
        for name, kind, layers in MODELS:
            times["train " + name] = step("train", data, "--layers", layers, *TRAIN, "--model", name,
                                          "--overwrite", "--history", out / ("%s-loss.csv" % name))
            acc = accuracy(step("evaluate", test, "--model", name, capture=True))
            mnn, mnn8 = out / ("%s.mnn" % name), out / ("%s8.mnn" % name)
            step("fetch", "--model", name, "-o", mnn)
            step("quantize", mnn, "-o", mnn8, "--data", data, "--overwrite")
            step("push", mnn8, "--model", name + "8")
            acc8 = accuracy(step("evaluate", test, "--model", name + "8", capture=True))
            table.append((kind, layers, n_params(mnn), mnn.stat().st_size, mnn8.stat().st_size, acc, acc8))
        step("connect", port, "cp", "firmware/examples/gesture_main.py", ":main.py", tool=MPREMOTE)
        for g in GESTURES:
            step("connect", port, "exec", "import accel, main; accel.start(%r); "
                 "main.main(model='/models/gestures8.mnn', loops=1)" % g, tool=MPREMOTE)
    except subprocess.CalledProcessError as e:
        sys.exit("the example failed at: %s" % " ".join(map(str, e.cmd)))
    finally:
        sim.send_signal(2)
        sim.wait()
    print("\n" + ", ".join("%s %.1fs" % kv for kv in times.items()))
    print("\naccuracy on the %d test rows, on the board; sizes of the model files" % (3 * 12))
    print("| model | --layers | parameters | .mnn bytes | int8 bytes | float | int8 |")
    print("|---|---|---|---|---|---|---|")
    for row in table:
        print("| %s | `%s` | %d | %d | %d | %.1f%% | %.1f%% |" % row)


def n_params(path):
    """A model file's parameter count, as `micronn info` gives it."""
    import micronn
    return micronn.load(str(path)).n_params


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
