"""From sensor to model: three gestures from a simulated accelerometer on a virtual ESP32, the way
a user would type it (README, "From sensor to model").

Records each gesture on the board (firmware/examples/sim_accel.py as the board's accel.py),
trains a classifier there with a hold-out set and early stopping, evaluates it, makes an int8
copy here, pushes and evaluates that, and runs firmware/examples/gesture_main.py as the board's
main.py, which prints the gesture's name.  Everything it makes goes to OUT (default
demo-out/gestures); `python examples/gestures.py [OUT]`.
"""
import os
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


def step(*args, tool=MICRONN):
    print("\n$ %s %s" % (Path(tool).name, " ".join(shlex.quote(str(a)) for a in args)), flush=True)
    t0 = time.monotonic()
    subprocess.run([tool] + [str(a) for a in args], cwd=ROOT, check=True)
    return time.monotonic() - t0


def main(out=None):
    out = Path(out or ROOT / "demo-out" / "gestures").resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = out / "gestures.csv"
    if data.exists():
        data.unlink()
    port = out / "port"
    board_dir = out / "board"
    board_dir.mkdir(exist_ok=True)
    sim = subprocess.Popen([MICRONN, "sim", "--board", "esp32", "--dir", board_dir, "--link", port], cwd=ROOT)
    times = {}
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
        for g in GESTURES:
            times["record"] += step("record", data, "--module", "accel", "--label", g, "--rate", 100,
                                    "--window", 10, "--rows", 24, "--columns", "x,y,z")
        times["train"] = step("train", data, "--layers", 16, "--activation", "tanh", "--optimizer", "adam",
                              "--lr", 0.01, "--batch-size", 8, "--epochs", 300, "--val", 0.25, "--patience", 40,
                              "--seed", 1, "--model", "gestures", "--overwrite", "--history", out / "loss.csv")
        times["evaluate"] = step("evaluate", data, "--model", "gestures")
        step("fetch", "--model", "gestures", "-o", out / "gestures.mnn")
        step("quantize", out / "gestures.mnn", "-o", out / "gestures8.mnn", "--data", data, "--overwrite")
        step("push", out / "gestures8.mnn", "--model", "gestures8")
        times["evaluate int8"] = step("evaluate", data, "--model", "gestures8")
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
