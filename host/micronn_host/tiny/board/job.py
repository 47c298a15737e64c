"""The training job: the micro:bit program's module mnnj, which the host imports as m and
calls train() and predict() in, each job as one command (predicting on no rows checks that a
model loads).

The host keeps the clock and tells a stop from a Ctrl-C by how the job ended: every name and
line here costs the board heap.
"""
import os
import struct

from loops import fit, predict
from model import checkpoint, setup

__all__ = ["train", "predict"]      # what the host calls


def train(p, need, dp, n, k, state, epochs, lr, bs, s1, s2, every, name, gen, uart, stop):
    """Train the model in file p on the data in file dp (see model.setup) for epochs, in chunks
    of `every` epochs (fit's other arguments: lr, bs, s1, s2).  After each chunk a progress
    line "E epochs loss", then a byte the host sent, if any, read from uart (the micro:bit's
    UART object, or None): a checkpoint when it is one, a checkpoint and the end when it is
    stop.  A checkpoint, and the one at the end, says "S generation epochs", then writes
    generation gen + 1 of model `name` and removes generation gen once the new one reads back.
    The line comes first so that the host knows the epochs of any generation it finds after a
    reset, even one that cut the line short."""
    m = setup(p, need, 1, dp, n, k, state)
    done = 0
    while done < epochs:
        e = min(every, epochs - done)
        t = fit(m, e, lr, bs, s1, s2)
        done += e
        print("E", done, struct.pack("<d", t))
        if t - t != 0.0:                # inf or nan: stop as Network.fit does
            raise ValueError("diverged")
        q = uart and uart.any() and uart.read(1)
        if q or done == epochs:
            gen += 1
            print("S", gen, done)
            checkpoint("%s.%d.mnn" % (name, gen), m)
            try:
                os.remove("%s.%d.mnn" % (name, gen - 1))
            except OSError:
                pass
        if q == stop:
            return
