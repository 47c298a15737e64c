"""The article's network trained on the emulated micro:bit: time, and distance to float64.

For several seeds: the article's 3-4-1 sigmoid network (no bias, SSE, 1500 full-batch
iterations, lr 1) trained on the emulated board; the seconds the training job took (the
emulator runs faster than a real 16 MHz micro:bit); the largest difference of the board's
predictions and weights from lib/micronn's float64 result and from its float32 result on the
host; whether the classes agree.  The board computes in MicroPython 1.9's 30-bit floats (a
float32 with the last two mantissa bits cut), so it drifts from float32 too.

    .venv/bin/python bench/microbit_article.py
"""
import sys
import time

import numpy as np

import micronn
from micronn_host import microbit, qemu_microbit
from micronn_host.tinyrepl import RawRepl

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]


def flat(weights):
    return np.concatenate([np.ravel(W) for W, _ in weights])


def main(seeds):
    with qemu_microbit.Emulator() as emu:
        board = microbit.TinyBoard(RawRepl(emu.port))
        print("%4s %8s %8s %10s %10s %10s %10s %7s" % ("seed", "job s", "total s", "pred-f64", "w-f64",
                                                     "pred-f32", "w-f32", "classes"))
        worst = 0.0
        for seed in seeds:
            nets = {d: micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=seed,
                                       dtype=d) for d in "df"}
            t = time.monotonic()
            res = board.train("bench", nets["f"], X, Y, epochs=1500, lr=1.0, loss="sse")
            _, _, got = board.fetch("bench")
            pred = np.array(board.predict("bench", X))
            total = time.monotonic() - t
            for net in nets.values():
                net.fit(X, Y, epochs=1500, lr=1.0, loss="sse")
            p64, p32 = np.array(nets["d"].predict_many(X)), np.array(nets["f"].predict_many(X))
            w = flat(got.get_weights())
            dp64, dw64 = np.abs(pred - p64).max(), np.abs(w - flat(nets["d"].get_weights())).max()
            dp32, dw32 = np.abs(pred - p32).max(), np.abs(w - flat(nets["f"].get_weights())).max()
            same = (pred.round() == p64.round()).all()
            worst = max(worst, dp64)
            print("%4d %8.2f %8.2f %10.2e %10.2e %10.2e %10.2e %7s" % (seed, res["seconds"], total, dp64, dw64,
                                                                    dp32, dw32, same))
            sys.stdout.flush()
        print("largest prediction difference from float64: %.2e" % worst)


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or range(1, 9))
