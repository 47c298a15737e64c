"""micronn.datafile: the rows of a data file read where they are.  Training, evaluating and
predicting from a file give exactly what the same rows give from arrays in the heap (the same
shuffled order, the same bits), on every runtime; bad files are one ValueError that names them."""
import random

import pytest

from micronn_host import dataset

ROWS = 37           # not a whole number of chunks

SAME = r"""
import array, json, micronn
from micronn.datafile import DataFile

def packed(path):
    f = open(path, "rb")
    head = f.read(12)
    n, a, b = head[4] | head[5] << 8, head[8], head[10]
    X = array.array("f", f.read(4 * n * a))
    Y = array.array("f", f.read(4 * n * b))
    f.close()
    return X, Y

def bits(net):
    return [list(array.array("I", bytes(b))) for b in net.buffers()]

X, Y = packed(%(path)r)
d = DataFile(%(path)r, chunk_bytes=%(chunk)d)
out = {"n": d.n, "chunk": d.chunk}
for name, kw in (("online", {"batch_size": 1}), ("batch", {"batch_size": 5, "optimizer": "adam", "lr": 0.01}),
                 ("full", {})):
    nets = []
    for src in ((X, Y), (d.X, d.Y)):
        net = micronn.Network([6, 5, 3], output="softmax", seed=4)
        loss = net.fit(src[0], src[1], epochs=3, loss="cce", scale="standard", **kw)
        nets.append((loss, bits(net), net.evaluate(src[0], src[1], "cce", True), net.predict_many(src[0])))
    out[name] = nets[0] == nets[1]
d.close()
print(json.dumps(out))
"""


def write(path, n=ROWS, nan_at=None, seed=1):
    rng = random.Random(seed)
    X = [[rng.uniform(-3, 3) for _ in range(6)] for _ in range(n)]
    Y = [[1.0 if k == r % 3 else 0.0 for k in range(3)] for r in range(n)]
    if nan_at is not None:
        X[nan_at[0]][nan_at[1]] = float("nan")
    path.write_bytes(dataset.pack(X, Y))
    return str(path)


@pytest.mark.parametrize("chunk", [2048, 40])
def test_training_from_a_file_is_training_from_arrays_bit_for_bit(rt, tmp_path, chunk):
    """fit (online, mini-batch with Adam, full batch; scaling fitted on the file's rows),
    evaluate and predict_many: the same results from the file as from arrays, whether a chunk
    holds every row or one row (40 bytes)."""
    got = rt.run(SAME % {"path": write(tmp_path / "d.mnd"), "chunk": chunk})
    assert got["n"] == ROWS
    assert got["chunk"] == max(1, chunk // 36)          # rows of 6 + 3 float32 values
    assert got["online"] and got["batch"] and got["full"], got


READS = r"""
import json
from micronn.datafile import DataFile
d = DataFile(%r, chunk_bytes=200)
X = d.X
first = list(X[0])
order = [5, 2, 30, 31, 32, 33, 36, 0]
rows = [list(X[i]) for i in order]
again = [list(X[i]) for i in range(d.n)]
print(json.dumps({"chunk": d.chunk, "rows": rows, "all": again, "y": list(d.Y[36])}))
d.close()
"""


def test_rows_read_in_any_order_are_the_rows(rt, tmp_path):
    path = write(tmp_path / "d.mnd")
    got = rt.run(READS % path)
    rng = random.Random(1)
    X = [[rng.uniform(-3, 3) for _ in range(6)] for _ in range(ROWS)]
    f32 = dataset.as_float32(X)
    assert got["chunk"] == 200 // 36
    if rt.float32:
        # a float32 runtime prints its floats with 7 or 8 digits, which need not read back as
        # the same bits: within two units in the last place of a float32 there
        same = lambda a, b: len(a) == len(b) and all(abs(u - v) <= 2 ** -23 * max(1.0, abs(v)) * 4
                                                     for r, q in zip(a, b) for u, v in zip(r, q))
    else:
        same = lambda a, b: a == b      # float64: the float32 values exactly
    assert same(got["all"], f32)
    assert same(got["rows"], [f32[i] for i in (5, 2, 30, 31, 32, 33, 36, 0)])
    assert got["y"] == [1.0, 0.0, 0.0]


BAD = r"""
import micronn
from micronn.datafile import DataFile
d = DataFile(%r)
net = micronn.Network([%d, 4, 3], seed=1)
net.fit(d.X, d.Y, epochs=1)
"""


def test_bad_files_are_one_value_error_that_names_them(rt, tmp_path):
    def error(path, n_in=6):
        kind, msg = rt.raises(BAD % (str(path), n_in))
        assert kind == "ValueError", msg
        return msg

    path = write(tmp_path / "nan.mnd", nan_at=(7, 2))
    assert "X row 7, column 2: nan is not allowed" in error(path)
    assert "has rows of 6 values in %s, expected 5" % path in error(path, 5)
    with open(write(tmp_path / "good.mnd"), "rb") as f:
        (tmp_path / "cut.mnd").write_bytes(f.read()[:200])
    assert "%s is truncated" % (tmp_path / "cut.mnd") in error(tmp_path / "cut.mnd")
    (tmp_path / "junk.mnd").write_bytes(b"a,b,c\n1,2,3\n")
    assert "%s is not a micronn data file" % (tmp_path / "junk.mnd") in error(tmp_path / "junk.mnd")
    assert "no data file %s" % (tmp_path / "none.mnd") in error(tmp_path / "none.mnd")
