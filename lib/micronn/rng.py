"""A tiny seeded generator that gives the same numbers on CPython and MicroPython.

`random` differs between the two (and is missing on some boards), so initial weights and
shuffles come from xorshift32 (Marsaglia, 2003) computed with plain integers.  The 32-bit state
is kept as two 16-bit halves, so that no step makes a number wider than 29 bits: on a 32-bit
board (where integers from 2**30 up are heap objects) drawing allocates nothing.
"""

_MASK = 0xFFFFFFFF


class Random:
    def __init__(self, seed=None):
        if seed is None:
            seed = _entropy()
        self.state = (int(seed) & _MASK) ^ 0x9E3779B9 or 0x6D2B79F5  # all-zero is a fixed point
        for _ in range(8):                            # mix small seeds such as 1, 2, 3
            self.step()

    @property
    def state(self):
        """The generator's 32-bit state as one number (what a program elsewhere continues from)."""
        return (self.hi << 16) | self.lo

    @state.setter
    def state(self, s):
        self.hi = (s >> 16) & 0xFFFF
        self.lo = s & 0xFFFF

    def randbelow(self, n):
        """next32() % n after one xorshift32 step (x ^= x << 13; x ^= x >> 17; x ^= x << 5)
        on the halves; below 2**30 throughout for any n up to 2**14."""
        h = self.hi
        l = self.lo
        h ^= (h << 13 | l >> 3) & 0xFFFF
        l ^= l << 13 & 0xFFFF
        l ^= h >> 1
        h ^= (h << 5 | l >> 11) & 0xFFFF
        l ^= l << 5 & 0xFFFF
        self.hi = h
        self.lo = l
        return ((h % n) << 16 | l) % n

    def step(self):
        """One step of the generator."""
        self.randbelow(1)

    def next32(self):
        """The next 32-bit number (an integer object of its own on a 32-bit board: the methods
        here do without it)."""
        self.step()
        return (self.hi << 16) | self.lo

    def random(self):
        """A float in [0, 1) with 24 random bits, so float32 and float64 agree exactly."""
        self.step()
        return ((self.hi << 8) | (self.lo >> 8)) / 16777216.0

    def uniform(self, a, b):
        return a + (b - a) * self.random()

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
