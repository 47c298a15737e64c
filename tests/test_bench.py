"""The on-board bench script runs on both runtimes and reports what it says (no timing checks)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import LIB, ROOT


@pytest.mark.parametrize("impl", ["naive", "micronn", "float", "int8"])
def test_onboard_reports_one_json_line(rt, impl, tmp_path):
    if rt.name == "cpython":
        argv = [sys.executable, str(ROOT / "bench" / "onboard.py"), impl, "3-4-1"]
        env = dict(os.environ, PYTHONPATH=str(LIB))
    else:
        argv = rt.argv[:1] + ["-X", "heapsize=192k", str(ROOT / "bench" / "onboard.py"), impl, "3-4-1"]
        env = rt.env
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
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
