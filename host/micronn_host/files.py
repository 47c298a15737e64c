"""Writing files on this computer so that a crash never leaves half a file under the real name."""
import os


def write_atomic(path, data):
    """Write bytes (or text) to path + ".tmp", flush it to disk, then rename it over path."""
    tmp = "%s.tmp" % path
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
