"""The on-board bench script runs on both runtimes and reports what it says (no timing checks)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import LIB, ROOT


@pytest.mark.parametrize("impl", ["naive", "micronn", "float", "int8"])
def test_onboard_reports_one_json_line(rt, impl, tmp_path):
    """Each step in its own process, as make bench runs them; the row merges their results."""
    from micronn_host.benchtable import steps
    if rt.board:
        pytest.skip("runs bench/onboard.py as a process; on a board `micronn bench` runs it (test_board_bench)")
    r = {}
    for step in steps(impl):
        if rt.name == "cpython":
            argv = [sys.executable, str(ROOT / "bench" / "onboard.py"), step, "3-4-1"]
            env = dict(os.environ, PYTHONPATH=str(LIB))
        else:
            argv = rt.argv[:1] + ["-X", "heapsize=192k", str(ROOT / "bench" / "onboard.py"), step, "3-4-1"]
            env = rt.env
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert proc.returncode == 0, proc.stderr
        r.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert r["impl"] == impl and r["params"] == 16 and r["macs"] == 16
    assert r["infer_us"] > 0 and r["bytes_per_param"] > 0
    assert ("train_us" in r) == (impl != "int8")
    if impl == "int8":
        assert r["maxdiff"] < 0.01
        assert not list(tmp_path.iterdir())     # its temporary model file is gone


def test_zeros_gives_zeroed_arrays_of_any_size(rt):
    got = rt.run("""
import json
from micronn.data import zeros
out = []
for tc in ("f", "d"):
    for n in (0, 1, 255, 256, 1000):
        a = zeros(tc, n)
        out.append([len(a), sum(1 for v in a if v != 0.0)])
print(json.dumps(out))
""")
    assert got == [[n, 0] for n in (0, 1, 255, 256, 1000)] * 2


def test_the_table_marks_larger_heaps_failures_and_cases_that_do_not_fit():
    from micronn_host.benchtable import nofit, table
    row = {"train_us": 10.0, "infer_us": 4.0, "macs_per_s": 4e6, "bytes_per_param": 5.0}
    rows = {("3-4-1", "naive"): dict(row, train_us=30.0, heap="384k"),
            ("3-4-1", "micronn"): row, ("3-4-1", "float"): None,
            ("64-64-10", "naive"): nofit(1234567), ("64-64-10", "micronn"): row}
    lines, notes = table(rows, ["3-4-1", "64-64-10"], ["naive", "micronn", "float"], heap="192k")
    assert lines[2] == "| 3-4-1 | naive lists (heap 384k) | 30.0 | 4.0 | 4.0M | 5.00 |  |  |"
    assert lines[3] == "| 3-4-1 | micronn (float32) | 10.0 | 4.0 | 4.0M | 5.00 | 3.00x | 1.0x |"
    assert lines[4] == "| 3-4-1 | micronn, float kernels only | failed | | | | | |"
    assert lines[5] == "| 64-64-10 | naive lists | does not fit | | | | | |"
    assert lines[6] == "| 64-64-10 | micronn (float32) | 10.0 | 4.0 | 4.0M | 5.00 |  |  |"
    assert lines[7] == "| 64-64-10 | micronn, float kernels only | failed | | | | | |"
    assert notes == ["3-4-1 naive baseline does not run in 192k; measured in 384k, the smallest heap "
                     "(doubling from 192k) it ran in",
                     "64-64-10 naive lists does not fit: MemoryError with 1,234,567 bytes of heap free"]


def test_the_table_of_an_emulated_board_has_the_heap_and_the_ratios_only():
    from micronn_host.benchtable import RATIO_HEADER, nofit, table
    row = {"train_us": 10.0, "infer_us": 4.0, "macs_per_s": 4e6, "bytes_per_param": 5.0}
    rows = {("3-4-1", "naive"): dict(row, train_us=30.0, infer_us=8.0, bytes_per_param=20.0),
            ("3-4-1", "micronn"): row, ("3-4-1", "float"): None, ("3-4-1", "int8"): nofit(1000)}
    lines, notes = table(rows, ["3-4-1"], ["naive", "micronn", "float", "int8"], ratios=True)
    assert lines[:2] == RATIO_HEADER
    assert lines[2:] == ["| 3-4-1 | naive lists | 20.00 |  |  |",
                         "| 3-4-1 | micronn (float32) | 5.00 | 3.00x | 2.0x |",
                         "| 3-4-1 | micronn, float kernels only | failed | | |",
                         "| 3-4-1 | micronn int8 | does not fit | | |"]
    assert notes == ["3-4-1 micronn int8 does not fit: MemoryError with 1,000 bytes of heap free"]
