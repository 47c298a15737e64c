"""`micronn sim`: a virtual board for people without hardware (see board.py)."""
import os
import signal

from .unixport import BOARDS, VirtualBoard, port_free


def run(board="unix", directory=None, link=None, out=print):
    vb = VirtualBoard(board, directory, link, log=lambda m: out("micronn sim: " + m))
    stop = lambda *a: vb.stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        vb.open()
        free = BOARDS[board]
        out("micronn sim: virtual %s board, %s, MicroPython unix port"
            % (board, "%d KB free heap (%d KB on this 64-bit port, whose objects are larger)"
               % (free // 1024, port_free(board) // 1024) if free else "the unix port's 2 MB heap"))
        out("  port:  %s%s" % (vb.port, "  (linked from %s)" % vb.link if vb.link else ""))
        out("  files: %s%s" % (vb.dir, "  (removed when the board stops)" if vb._own_dir else ""))
        out("  Ctrl-C stops it; `kill -USR1 %d` presses its reset button." % os.getpid())
        vb.serve()
    finally:
        vb.close()
