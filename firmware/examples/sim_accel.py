"""A simulated 3-axis accelerometer, to try `micronn record` without one (on a virtual board, or
any board): copy it to the board as accel.py and record with --module accel.

    micronn record gestures.csv --module accel --label circle --rate 100 --window 10 --rows 24

read() returns one reading [x, y, z] in g.  start(label), which `micronn record` calls first,
chooses what the simulated hand does: "circle" (the board drawn in a circle: x and y follow a
sine and a cosine), "shake" (the hand tilted, y at 0.5 g, while x jumps between +-0.9 g and z between 0.6 and
1.4 g from one reading to the next, at random), anything else held still (gravity on z).  Each reading has a little noise from a seeded generator.  A real
sensor module has the same read() (start() is optional: it could light an LED to say "now").
"""
import math
import time

GESTURES = ("circle", "shake", "still")
_state = {"gesture": "still", "seed": 0x2545F491}


def start(label):
    _state["gesture"] = label


def _noise(scale=0.05):
    x = _state["seed"]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _state["seed"] = x
    return ((x & 0xFFFF) / 32768.0 - 1.0) * scale


def read():
    t = time.ticks_ms() / 1000.0
    g = _state["gesture"]
    if g == "circle":
        a = 2 * math.pi * 1.5 * t
        return [0.6 * math.sin(a) + _noise(), 0.6 * math.cos(a) + _noise(), 1.0 + _noise()]
    if g == "shake":
        s = 1.0 if _noise(1.0) >= 0 else -1.0
        return [0.9 * s + _noise(), 0.5 + _noise(), 1.0 + 0.4 * s + _noise()]
    return [_noise(), _noise(), 1.0 + _noise()]
