"""`make demo`: the whole board workflow on a virtual ESP32, the way a user would type it.

Starts `micronn sim`, deploys micronn, trains the article's network on the board with a progress
bar, fetches the model, predicts on the board next to the targets and writes the loss plot.
Everything it makes goes to demo-out/.
"""
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "demo-out"
MICRONN = str(Path(sys.executable).parent / "micronn")
DATA = "examples/article.csv"


def step(*args):
    print("\n$ micronn " + " ".join(shlex.quote(str(a)) for a in args), flush=True)
    subprocess.run([MICRONN] + [str(a) for a in args], cwd=ROOT, check=True)


def main():
    OUT.mkdir(exist_ok=True)
    port = OUT / "port"
    board_dir = OUT / "board"
    board_dir.mkdir(exist_ok=True)
    print("$ micronn sim --board esp32 --dir demo-out/board --link demo-out/port &", flush=True)
    sim = subprocess.Popen([MICRONN, "sim", "--board", "esp32", "--dir", board_dir, "--link", port], cwd=ROOT)
    try:
        for _ in range(200):
            if port.is_symlink():
                break
            if sim.poll() is not None:
                sys.exit("micronn sim did not start")
            time.sleep(0.05)
        os.environ["MICRONN_PORT"] = str(port)
        print("$ export MICRONN_PORT=demo-out/port")
        step("deploy")
        t0 = time.monotonic()
        step("train", DATA, "--layers", "3,4,1", "--epochs", 1500, "--lr", 1, "--loss", "sse", "--no-bias",
             "--init", "uniform", "--seed", 1, "--history", "demo-out/loss.csv")
        print("(train took %.1fs end to end)" % (time.monotonic() - t0))
        step("fetch", "-o", "demo-out/article.mnn")
        step("predict", "--csv", DATA, "--compare")
        step("plot", "demo-out/loss.csv", "--model", "demo-out/article.mnn", "--data", DATA,
             "-o", "demo-out/loss.png")
        step("info")
    except subprocess.CalledProcessError as e:
        sys.exit("demo failed at: micronn %s" % " ".join(map(str, e.cmd[1:])))
    finally:
        sim.send_signal(2)
        sim.wait()
    print("\nThe trained model is demo-out/article.mnn and the loss plot demo-out/loss.png.")


if __name__ == "__main__":
    main()
