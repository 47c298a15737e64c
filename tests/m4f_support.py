"""The emulated Cortex-M4F board (QEMU's mps2-an386 running a MicroPython firmware) in the tests
(and in `make bench`, which finds the firmware the same way).

The firmware is not part of the project: it is taken from $MICRONN_M4F_FIRMWARE, else from
../shared/firmware/qemu-m4f/micropython-m4f.elf beside this checkout, beside the main checkout
of its repository (for a git worktree elsewhere) or beside the checkout it was cloned from (a
clone of a local path).  docs/boards.md says how to build one.  Without it (or without
qemu-system-arm) the tests that need it skip, and fail with CI=true.
"""
import os
import subprocess
from pathlib import Path

from micronn_host.sim import qemu

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("shared", "firmware", "qemu-m4f", "micropython-m4f.elf")


def _git(*args, cwd=ROOT):
    try:
        p = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return p.stdout.strip() if p.returncode == 0 else ""


def _with_main(path):
    """path and the main checkout of its repository (different for a git worktree)."""
    common = _git("rev-parse", "--path-format=absolute", "--git-common-dir", cwd=path)
    return [Path(path)] + ([Path(common).parent] if common else [])


def checkouts():
    """This checkout and the main one of its repository, then the local one it was cloned
    from and the main one of that."""
    out = _with_main(ROOT)
    origin = _git("config", "--get", "remote.origin.url")
    if origin.startswith("file://"):
        origin = origin[len("file://"):]
    if origin and os.path.isdir(origin):
        out += _with_main(Path(origin).resolve())
    return out


def firmware():
    """The M4F firmware's path (None when there is none)."""
    given = os.environ.get(qemu.M4F_FIRMWARE)
    if given:
        return given
    for root in checkouts():
        if (root.parent / SHARED).is_file():
            return str(root.parent / SHARED)
    return None


def need_m4f():
    """The firmware's path; skip (fail in CI) when it or qemu-system-arm is missing."""
    from conftest import need
    path = firmware()
    if path is None:
        why = ("set $%s or put the firmware at ../%s beside the checkout (docs/boards.md says how to build it)"
               % (qemu.M4F_FIRMWARE, SHARED))
    else:       # from the environment, missing() says so itself
        why = qemu.missing(None if os.environ.get(qemu.M4F_FIRMWARE) else path, board="m4f")
    need(not why, "the emulated M4F board", why or "")
    return path
