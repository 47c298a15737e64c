"""A tiny seeded generator that gives the same numbers on CPython and MicroPython.

`random` differs between the two (and is missing on some boards), so initial weights and
shuffles come from xorshift32 (Marsaglia, 2003) computed with plain integers.
"""

_MASK = 0xFFFFFFFF


class Random:
    def __init__(self, seed=None):
        if seed is None:
            seed = _entropy()
        s = int(seed) & _MASK
        self.state = s ^ 0x9E3779B9 or 0x6D2B79F5   # the all-zero state is a fixed point
        for _ in range(8):                            # mix small seeds such as 1, 2, 3
            self.next32()

    def next32(self):
        x = self.state
        x ^= (x << 13) & _MASK
        x ^= x >> 17
        x ^= (x << 5) & _MASK
        self.state = x
        return x

    def random(self):
        """A float in [0, 1) with 24 random bits, so float32 and float64 agree exactly."""
        return (self.next32() >> 8) / 16777216.0

    def uniform(self, a, b):
        return a + (b - a) * self.random()

    def randbelow(self, n):
        return self.next32() % n

    def shuffle(self, seq):
        """Fisher-Yates shuffle in place."""
        for i in range(len(seq) - 1, 0, -1):
            j = self.randbelow(i + 1)
            seq[i], seq[j] = seq[j], seq[i]


def _entropy():
    try:
        import os
        b = os.urandom(4)
        return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
    except (ImportError, AttributeError, NotImplementedError, OSError):
        import time
        t = time.ticks_us() if hasattr(time, "ticks_us") else time.time() * 1e6
        return int(t) & _MASK
