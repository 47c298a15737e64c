"""How much of the emulated micro:bit's heap micronn's training jobs can take, to check
microbit.need() against the board.

For networks of growing size (sigmoid, mse, 16 samples, full batch): the heap left free once
the model's program is imported, what need() says the job takes, and whether the job runs
when the host lets it try (need() switched off).  need() should refuse what fails and allow
what runs, erring on the side of refusing.

    .venv/bin/python bench/microbit_memory.py
"""
import random
import sys

import micronn
from micronn import job as jobs
from micronn_host import errors as micronn_errors
from micronn_host.boards import connect
from micronn_host.boards import tiny as microbit
from micronn_host.sim import qemu as qemu_microbit
from micronn_host.tiny import program as tinyprog


class Quiet:
    """What a training job reports, unheard."""

    def started(self, params, free, stoppable):
        pass

    def losses(self, values, ms):
        pass

    def checkpoint(self, epoch, where):
        pass

    def stop_wait(self):
        return 0.0

CASES = [([3, 4, 1], False, 4), ([3, 4, 1], False, 64), ([3, 4, 1], False, 120), ([3, 4, 1], False, 150),
         ([3, 4, 1], False, 200), ([4, 8, 1], True, 16), ([8, 12, 1], True, 16), ([8, 14, 1], True, 16),
         ([8, 16, 1], True, 16), ([8, 18, 1], True, 16), ([8, 24, 1], True, 16), ([16, 8, 1], False, 16),
         ([16, 12, 1], False, 16), ([2, 24, 1], False, 8), ([2, 32, 1], False, 8), ([3, 4, 4, 1], False, 4),
         ([3, 8, 8, 1], False, 16), ([3, 4, 4, 1], True, 16), ([4, 12, 12, 2], True, 16)]


def job(board, sizes, bias, rows):
    rnd = random.Random(1)
    X = [[rnd.random() for _ in range(sizes[0])] for _ in range(rows)]
    Y = [[rnd.random() for _ in range(sizes[-1])] for _ in range(rows)]
    spec = jobs.make({"layers": sizes, "activation": "sigmoid", "loss": "mse", "epochs": 4, "lr": 0.1,
                      "bias": bias, "seed": 1})
    net = micronn.Network(sizes, activation="sigmoid", bias=bias, seed=1)
    nb = microbit.need(tinyprog.Spec.of(net, "mse", None, rows), True, rows, sizes[0] + sizes[-1])
    real = microbit.need
    microbit.need = lambda *a: 0            # let the board try
    try:
        board.train(spec, X, Y, "bench", 3600, Quiet(), out=lambda m: None)
        ran = "yes"
    except micronn_errors.MicronnError as e:
        ran = "no: %s" % str(e)[:110]
    finally:
        microbit.need = real
    free = board.free
    board.fresh()
    for f in board.files():
        if f.startswith("bench.") or f in (microbit.DATA, microbit.START):
            board.remove(f)
    return free, nb, ran


def main():
    with qemu_microbit.Emulator() as emu, connect(emu.port, soft_reset=True) as board:
        print("%-14s %4s %5s %6s %6s  %s" % ("network", "bias", "rows", "free", "need", "runs"))
        for sizes, bias, rows in CASES:
            free, nb, ran = job(board, sizes, bias, rows)
            print("%-14s %4s %5d %6d %6d  %s" % ("-".join(map(str, sizes)), "yes" if bias else "no", rows,
                                               free, nb, ran))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
