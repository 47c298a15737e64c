"""The article's network trained on the emulated micro:bit with the `micronn` command: time, and
distance to float64.

For several seeds: `micronn train` of the article's 3-4-1 sigmoid network (no bias, SSE, 1500
full-batch iterations, lr 1) on `micronn sim --board microbit`, then `micronn fetch` and
`micronn predict`; the seconds the board's training took (as `micronn train` reports it; the
emulator runs faster than a real 16 MHz micro:bit), the wall-clock seconds of the three
commands; the largest difference of the board's predictions and weights from lib/micronn's
float64 result and from its float32 result on the host; whether the classes agree.  The board
computes in MicroPython 1.9's 30-bit floats (a float32 with the last two mantissa bits cut), so
it drifts from float32 too.

    .venv/bin/python bench/microbit_article.py [SEEDS...]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import micronn

BIN = Path(sys.executable).parent
MICRONN = [str(BIN / "micronn")] if (BIN / "micronn").exists() else [sys.executable, "-m", "micronn_host"]
X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]
CSV = "x1,x2,x3,y\n0,0,1,0\n0,1,1,1\n1,0,1,1\n1,1,1,0\n"


def flat(weights):
    return np.concatenate([np.ravel(W) for W, _ in weights])


def cli(*args, port):
    p = subprocess.run(MICRONN + [str(a) for a in args], capture_output=True, text=True,
                       env=dict(os.environ, MICRONN_PORT=port))
    if p.returncode:
        sys.exit("micronn %s failed: %s" % (" ".join(map(str, args)), p.stderr.strip()))
    return p.stdout


def main(seeds):
    tmp = Path(tempfile.mkdtemp(prefix="micronn-bench-"))
    port = str(tmp / "microbit")
    sim = subprocess.Popen(MICRONN + ["sim", "--board", "microbit", "--link", port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = sim.stdout.readline()
    if not first.startswith("micronn sim:"):
        sys.exit(first + sim.stdout.read())
    try:
        data = tmp / "xor.csv"
        data.write_text(CSV)
        cli("deploy", port=port)
        print("%4s %8s %8s %10s %10s %10s %10s %7s" % ("seed", "train s", "total s", "pred-f64", "w-f64",
                                                     "pred-f32", "w-f32", "classes"))
        worst = [0.0, 0.0]
        for seed in seeds:
            t = time.monotonic()
            out = cli("train", data, "--layers", "3,4,1", "--lr", 1, "--loss", "sse", "--no-bias", "--init",
                      "uniform", "--seed", seed, "--epochs", 1500, "--model", "bench", port=port)
            cli("fetch", "--model", "bench", "-o", tmp / "bench.mnn", port=port)
            pred = np.array(json.loads(cli("predict", "--model", "bench", "--csv", data, "--json", port=port)))
            total = time.monotonic() - t
            board_s = float(re.search(r"trained 1500 epochs in ([\d.]+)s", out).group(1))
            got = micronn.load(str(tmp / "bench.mnn"))
            nets = {d: micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=seed,
                                       dtype=d) for d in "df"}
            for net in nets.values():
                net.fit(X, Y, epochs=1500, lr=1.0, loss="sse")
            p64, p32 = np.array(nets["d"].predict_many(X)), np.array(nets["f"].predict_many(X))
            w = flat(got.get_weights())
            dp64, dw64 = np.abs(pred - p64).max(), np.abs(w - flat(nets["d"].get_weights())).max()
            dp32, dw32 = np.abs(pred - p32).max(), np.abs(w - flat(nets["f"].get_weights())).max()
            same = (pred.round() == p64.round()).all()
            worst = [max(worst[0], dp64), max(worst[1], dw64)]
            print("%4d %8.2f %8.2f %10.2e %10.2e %10.2e %10.2e %7s" % (seed, board_s, total, dp64, dw64,
                                                                    dp32, dw32, same))
            sys.stdout.flush()
        print("largest difference from float64: predictions %.2e, weights %.2e" % tuple(worst))
    finally:
        sim.send_signal(2)
        sim.wait(20)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or range(1, 9))
