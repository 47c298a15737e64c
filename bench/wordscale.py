"""How much more heap the 64-bit unix port takes than a 32-bit board for the same micronn work,
the figure behind micronn_host.sim.unixport.WORD_SCALE (a virtual board gets its real board's
free heap times it).  Needs MICRONN_MP32F (a 32-bit float32 unix build, docs/speed.md).

    MICRONN_MP32F=/path/to/micropython python3 bench/wordscale.py

Both runtimes import micronn and the board agent precompiled by mpy-cross (as deploy sends them:
native code for the port's own architecture), then train a small network.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
from micronn_host.boards.deploy import board_sources  # noqa: E402
from micronn_host.executables import find_micropython, mpy_cross_binary  # noqa: E402

PROBE = """
import gc
gc.collect(); f0 = gc.mem_free()
import micronn, mnn_agent
gc.collect(); a = f0 - gc.mem_free()
net = micronn.Network([13, 16, 3], activation="tanh", output="softmax", seed=1)
X = [[0.1 * (i + j) for j in range(13)] for i in range(8)]
Y = [[1, 0, 0]] * 8
net.fit(X, Y, epochs=2, lr=0.01, loss="cce", optimizer="adam")
gc.collect(); print(a, f0 - gc.mem_free())
"""


def measure(exe, arch, tmp):
    d = Path(tmp) / arch
    (d / "micronn").mkdir(parents=True)
    for src in board_sources(ROOT / "lib" / "micronn"):
        subprocess.run([mpy_cross_binary(), "-march=" + arch, "-O1", "-o",
                        str(d / "micronn" / (src.stem + ".mpy")), str(src)], check=True)
    for src in (ROOT / "firmware").glob("mnn_*.py"):
        subprocess.run([mpy_cross_binary(), "-march=" + arch, "-O1", "-o", str(d / (src.stem + ".mpy")), str(src)],
                       check=True)
    p = subprocess.run([exe, "-X", "heapsize=1024k", "-c", PROBE], capture_output=True, text=True,
                       env=dict(os.environ, MICROPYPATH=str(d)), check=True)
    return [int(v) for v in p.stdout.split()]


def main():
    mp32 = os.environ.get("MICRONN_MP32F")
    if not mp32:
        sys.exit("bench/wordscale.py: set MICRONN_MP32F to a 32-bit float32 MicroPython unix build")
    with tempfile.TemporaryDirectory() as tmp:
        wide = measure(find_micropython(), "x64", tmp)
        narrow = measure(mp32, "x86", tmp)
    print("| | 64-bit unix port | 32-bit build | ratio |")
    print("|---|---|---|---|")
    for name, w, n in zip(("import micronn and its agent", "and a 13-16-3 network trained"), wide, narrow):
        print("| %s | %s B | %s B | %.2f |" % (name, format(w, ","), format(n, ","), w / n))


if __name__ == "__main__":
    main()
