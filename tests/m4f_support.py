"""The emulated Cortex-M4F board (QEMU's mps2-an386 running a MicroPython firmware) in the tests.

The firmware is not part of the project: it is taken from $MICRONN_M4F_FIRMWARE, else from
../shared/firmware/qemu-m4f/micropython-m4f.elf beside this checkout or beside the main
checkout of its repository (for a git worktree elsewhere).  docs/boards.md says how to build
one.  Without it (or without qemu-system-arm) the tests that need it skip, and fail with
CI=true.
"""
import os
import subprocess
from pathlib import Path

from conftest import ROOT, need
from micronn_host.sim import qemu

SHARED = Path("shared", "firmware", "qemu-m4f", "micropython-m4f.elf")


def main_checkout():
    """The main working tree of this repository (this one, unless it is a linked worktree)."""
    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(common).parent if common else None


def firmware():
    """The M4F firmware's path (None when there is none)."""
    given = os.environ.get(qemu.M4F_FIRMWARE)
    if given:
        return given
    for root in (ROOT, main_checkout()):
        if root is not None and (root.parent / SHARED).is_file():
            return str(root.parent / SHARED)
    return None


def need_m4f():
    """The firmware's path; skip (fail in CI) when it or qemu-system-arm is missing."""
    path = firmware()
    if path is None:
        why = ("set $%s or put the firmware at ../%s beside the checkout (docs/boards.md says how to build it)"
               % (qemu.M4F_FIRMWARE, SHARED))
    else:
        why = qemu.missing(path, board="m4f")
    need(not why, "the emulated M4F board", why or "")
    return path
