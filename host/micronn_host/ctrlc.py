"""Ctrl-C as a request to stop: while a long job runs, SIGINT only counts presses, and the job
checks the count at a point of its choosing (between epochs, between reads of the board)."""
import signal
import threading


class CtrlC:
    """`with CtrlC() as c:` counts each Ctrl-C in c.count; the press number `raise_at` raises
    KeyboardInterrupt after all (None: none does).  Inactive, or outside the main thread (where
    Python delivers signals), Ctrl-C stays a KeyboardInterrupt."""

    def __init__(self, active=True, raise_at=None):
        self.active = active
        self.raise_at = raise_at
        self.count = 0
        self.previous = None

    def __enter__(self):
        if self.active and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._press)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _press(self, signum, frame):
        self.count += 1
        if self.raise_at is not None and self.count >= self.raise_at:
            raise KeyboardInterrupt

    def pressed(self):
        """Take one press, if there is one."""
        if self.count:
            self.count -= 1
            return True
        return False
