"""A one-line progress bar (epoch, loss, validation, elapsed, ETA; or rows recorded); plain lines
when not on a terminal."""
import sys
import time


def _clock(s):
    s = int(s)
    return "%d:%02d" % (s // 60, s % 60) if s < 3600 else "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


class Bar:
    def __init__(self, total, stream=None, width=24, unit="epoch"):
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stdout
        self.width = width
        self.tty = self.stream.isatty()
        self.t0 = time.monotonic()
        self.shown_at = -1.0
        self.last_len = 0
        self.next_step = 0

    def update(self, epoch, loss, elapsed=None, extra=""):
        """Show epoch (or rows) of total; loss None shows no loss; extra: more to show after it
        (validation loss and accuracy, the rate of recording)."""
        if elapsed is None:
            elapsed = time.monotonic() - self.t0
        done = epoch / self.total if self.total else 1.0
        eta = elapsed * (1 - done) / done if done > 0 else 0.0
        fill = int(self.width * done)
        line = "%s %*d/%d [%s%s]%s%s  %s elapsed, ETA %s" % (
            self.unit, len(str(self.total)), epoch, self.total, "#" * fill, "." * (self.width - fill),
            "" if loss is None else " loss %.6g" % loss, extra and " " + extra, _clock(elapsed), _clock(eta))
        if self.tty:
            now = time.monotonic()
            if now - self.shown_at >= 0.1 or epoch >= self.total:
                self.stream.write("\r" + line + " " * max(0, self.last_len - len(line)))
                self.stream.flush()
                self.last_len = len(line)
                self.shown_at = now
        elif done >= self.next_step or epoch >= self.total:    # a log: one line per 10%
            self.stream.write(line + "\n")
            self.stream.flush()
            self.next_step = (int(done * 10) + 1) / 10.0

    def close(self):
        if self.tty and self.last_len:
            self.stream.write("\n")
            self.stream.flush()
            self.last_len = 0
