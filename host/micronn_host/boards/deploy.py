"""`micronn deploy`: copy micronn to /lib/micronn and the agent to /, compiled for the board.

What to send per module is decided from what the board reports: sys.implementation._mpy gives
the .mpy version, sub-version and native architecture.  Bytecode-only modules go as .mpy
whenever the major version matches.  Modules with @micropython.viper code go as .mpy for the
board's architecture only when the sub-version matches too (native code is refused otherwise),
else as source, which the board compiles itself.  A board whose firmware has no native emitter
gets those modules with the decorators removed: the same Python, run as bytecode.  The plain
twins lib/micronn/_plain_*.py (for installs that copy lib as it is: mip, a frozen firmware) are
not sent: either way the board runs the modules it gets.
"""
import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from ..errors import MicronnError
from ..executables import mpy_cross_binary, mpy_cross_version

ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
         "xtensa", "xtensawin", "rv32imc", "rv64imc"]
NATIVE_DECORATOR = re.compile(r"^[ \t]*@micropython\.(viper|native)[ \t]*$", re.M)

HASHES = """import os
try:
    import hashlib, binascii
except ImportError:
    hashlib = None
def _mnn_h(paths):
    for p in paths:
        try:
            os.stat(p)
        except OSError:
            continue
        if hashlib is None:
            print(p, '?')
            continue
        h = hashlib.sha256()
        with open(p, 'rb') as f:
            while True:
                b = f.read(512)
                if not b:
                    break
                h.update(b)
        print(p, binascii.hexlify(h.digest()).decode())
"""

def library_dir():
    import micronn
    return Path(micronn.__file__).resolve().parent


# lib/micronn modules only CPython imports: the dense kernels on whole rows (rows), and writing
# them out for one network (fuse, with fold), which reads the kernels' source with ast
CPYTHON_ONLY = ("rows", "fold", "fuse")


def board_sources(lib=None):
    """The lib/micronn sources a board runs (sorted): not the twins for firmware without a
    native emitter (deploy strips the decorators instead), not the CPython-only modules."""
    return [src for src in sorted((lib or library_dir()).glob("*.py"))
            if not src.name.startswith("_plain_") and src.stem not in CPYTHON_ONLY]


def firmware_dir():
    """The on-board files: package data of micronn_host (or firmware/ in a source tree)."""
    import importlib.util
    spec = importlib.util.find_spec("micronn_host.firmware")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            if (Path(loc) / "mnn_agent.py").exists():
                return Path(loc)
    here = Path(__file__).resolve().parents[3] / "firmware"
    if (here / "mnn_agent.py").exists():
        return here
    raise MicronnError("the on-board files (mnn_agent.py) are missing from this installation")


def strip_native(src):
    """The module without @micropython.viper/native: plain bytecode, for firmware without a
    native emitter.  micronn's modules import plain stand-ins for viper's pointer casts from
    micronn._upy, and micronn.kernels.VIPER turns false, so the integer fast paths stay off.
    Each decorator line becomes an empty line, so line numbers in tracebacks stay the source's."""
    return NATIVE_DECORATOR.sub("", src)


class Target:
    def __init__(self, mpy, native):
        self.major = mpy & 0xFF
        self.sub = (mpy >> 8) & 3
        arch = mpy >> 10
        self.arch = ARCHS[arch] if arch < len(ARCHS) else None
        self.native = bool(native)

    def describe(self):
        return ".mpy v%d.%d, %s, %s" % (self.major, self.sub, self.arch or "no native arch",
                                        "native emitter" if self.native else "no native emitter")


def plan(target, source=False):
    """[(board path, bytes, how)] for every file to deploy."""
    files = []
    for src in board_sources():
        files.append(("/lib/micronn/", src))
    for src in sorted(firmware_dir().glob("*.py")):
        files.append(("/", src))
    exact = exe_any = None
    if not source and target.major:
        exact = mpy_cross_binary("%d.%d" % (target.major, target.sub)) or _default_if(target, exact=True)
        exe_any = exact or _any_for_major(target.major)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for where, src in files:
            text = src.read_text()
            native = bool(NATIVE_DECORATOR.search(text))
            how = "source"
            if native and not target.native:
                text = strip_native(text)
                how = "source, viper removed"
            name = src.stem
            if source or not exe_any or (native and target.native and (not exact or not target.arch)):
                out.append((where + name + ".py", text.encode(), how))
                continue
            arch = ["-march=" + target.arch] if native and target.native else []
            exe = exact if arch else exe_any
            tmp_src = Path(tmp) / src.name
            tmp_src.write_text(text)
            dst = Path(tmp) / (name + ".mpy")
            r = subprocess.run([exe, "-O1"] + arch + ["-s", src.name, "-o", str(dst), str(tmp_src)],
                               capture_output=True, text=True)
            if r.returncode:
                raise MicronnError("mpy-cross failed on %s: %s" % (src, (r.stderr or r.stdout).strip()))
            desc = ".mpy, %s" % ("native " + target.arch if arch else "bytecode")
            if how != "source":
                desc += ", viper removed"
            out.append((where + name + ".mpy", dst.read_bytes(), desc))
    return out


def bytecode(board, name, text):
    """(extension, bytes) of a module of plain Python to put on the board: .mpy bytecode when an
    mpy-cross for the board's .mpy version is here (the board then does not compile the source,
    which can take more heap than running it), else the source itself."""
    mpy, _ = board.probe()
    target = Target(mpy, False)
    exe = target.major and (mpy_cross_binary("%d.%d" % (target.major, target.sub)) or _default_if(target, exact=True)
                            or _any_for_major(target.major))
    if not exe:
        return ".py", text.encode()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / (name + ".py"), Path(tmp) / (name + ".mpy")
        src.write_text(text)
        r = subprocess.run([exe, "-O1", "-s", src.name, "-o", str(dst), str(src)], capture_output=True, text=True)
        if r.returncode:
            return ".py", text.encode()
        return ".mpy", dst.read_bytes()


def _default_if(target, exact):
    exe = mpy_cross_binary()
    return exe if exe and mpy_cross_version(exe) == (target.major, target.sub) else None


def _any_for_major(major):
    for sub in (3, 2, 1, 0):
        exe = mpy_cross_binary("%d.%d" % (major, sub) if sub else "%d" % major)
        if exe:
            return exe
    return None


def run(board, source=False, native=True, out=print):
    mpy, can = board.probe()
    target = Target(mpy, can and native)
    out("board at %s: %s" % (board.port, target.describe()))
    files = plan(target, source)
    board.exec(HASHES)
    have = {}
    for line in board.exec("_mnn_h(%r)" % [p for p, _, _ in files]).decode().splitlines():
        p, _, h = line.strip().partition(" ")
        have[p] = h
    for path in stale(board, [p for p, _, _ in files]):
        board.exec("import os\nos.remove(%r)" % path)
        out("  removed %s" % path)
    sent = total = 0
    for path, data, how in files:
        if have.get(path) == hashlib.sha256(data).hexdigest():
            out("  %-28s %7d bytes  unchanged" % (path, len(data)))
            continue
        board.repl.put(path, data)
        out("  %-28s %7d bytes  sent (%s)" % (path, len(data), how))
        sent += 1
        total += len(data)
    out("sent %d file%s, %d bytes; %d unchanged" % (sent, "" if sent == 1 else "s", total, len(files) - sent))
    board.repl.enter(soft_reset=True)
    res = board.exec("import gc\ngc.collect()\nf = gc.mem_free()\nimport micronn, mnn_agent\ngc.collect()\n"
                     "print(micronn.__version__, f - gc.mem_free(), gc.mem_free())").decode().split()
    out("micronn %s imports on the board (%s bytes of heap; %s bytes free)" % tuple(res))
    done = board.clean()
    for path in done["recovered"]:
        out("put %s in place from the temporary file a cut-short save left" % path)
    if done["removed"]:
        out("removed what cut-short saves and uploads left: %s" % ", ".join(done["removed"]))


def stale(board, paths):
    """Files that would shadow or outlive what is deployed: any other module in /lib/micronn,
    and the .py twin of a .mpy (MicroPython imports x.py before x.mpy) or the reverse in /."""
    keep = set(paths)
    stems = set(p.rsplit(".", 1)[0] for p in paths)
    found = []
    for d in ("/lib/micronn", "/"):
        for name in sorted(board.repl.listdir(d)):
            if not name.endswith((".py", ".mpy")):
                continue
            path = d.rstrip("/") + "/" + name
            if path in keep:
                continue
            if d != "/" or path.rsplit(".", 1)[0] in stems:
                found.append(path)
    return found
