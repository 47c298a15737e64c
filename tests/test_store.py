"""Model files: round trips on both runtimes, across runtimes, and every kind of bad file."""
import json
import struct
import zlib

import numpy as np
import pytest

from conftest import float64

MAKE = """
    import json, micronn
    net = micronn.Network([3, 5, 4, 2], activation=["tanh", "relu"], output="softmax", bias=%r,
                          seed=9, dtype=%r)
    net.fit([[0.1, 0.2, 0.3], [0.9, 0.1, 0.4], [0.5, 0.5, 0.5]], [[1, 0], [0, 1], [1, 0]],
            epochs=5, lr=0.1, loss="cce")
    net.save(%r, format=%r)
    print(json.dumps({"w": net.get_weights(), "p": net.predict([0.3, 0.2, 0.1])}))
"""

LOAD = """
    import json, micronn
    net = micronn.load(%r)
    print(json.dumps({"w": net.get_weights(), "p": net.predict([0.3, 0.2, 0.1]), "sizes": net.sizes,
                      "acts": net.activations, "bias": net.bias, "dtype": net.dtype}))
"""


@pytest.mark.parametrize("fmt", ["mnn", "json"])
@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("bias", [True, False])
def test_round_trip_on_one_runtime(rt, tmp_path, fmt, dtype, bias):
    path = str(tmp_path / ("m." + fmt))
    saved = rt.run(MAKE % (bias, dtype, path, fmt))
    loaded = rt.run(LOAD % path)
    assert loaded["w"] == saved["w"]          # exactly: float32 values survive both formats
    assert loaded["p"] == saved["p"]
    assert loaded["sizes"] == [3, 5, 4, 2]
    assert loaded["acts"] == ["tanh", "relu", "softmax"]
    assert loaded["bias"] is bias and loaded["dtype"] == dtype
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m." + fmt], "no temporary file left"


@pytest.mark.parametrize("fmt", ["mnn", "json"])
@pytest.mark.parametrize("writer,reader", [("cpython", "micropython"), ("micropython", "cpython")])
def test_a_file_from_one_runtime_loads_on_the_other(request, tmp_path, fmt, writer, reader):
    w, r = request.getfixturevalue(writer), request.getfixturevalue(reader)
    path = str(tmp_path / ("m." + fmt))
    saved = w.run(MAKE % (True, "f", path, fmt))
    loaded = r.run(LOAD % path)
    if float64(w) and float64(r):
        assert loaded["w"] == saved["w"]
    else:   # a float32 runtime prints its floats short of their last bits (the bits: test_json_exact)
        flat = lambda ws: [v for W, b in ws for row in W + [b] for v in row]
        np.testing.assert_allclose(flat(loaded["w"]), flat(saved["w"]), rtol=1e-6, atol=1e-7)
    # float32 models predict through MicroPython's integer kernels, rounded to float32
    np.testing.assert_allclose(loaded["p"], saved["p"], rtol=0, atol=1e-6)


def test_the_mnn_layout_is_as_documented(cpython, tmp_path):
    """Parse a file by hand from the documented layout: proves the format, not just a round trip."""
    path = tmp_path / "m.mnn"
    saved = cpython.run(MAKE % (True, "f", str(path), "mnn"))
    data = path.read_bytes()
    assert data[:3] == b"MNN" and data[3] == 1
    assert data[4] == ord("f") and data[5] == 3 and data[6] == 1 and data[7] == 0
    sizes = struct.unpack_from("<4H", data, 8)
    assert sizes == (3, 5, 4, 2)
    assert list(data[16:19]) == [2, 3, 5]       # tanh, relu, softmax in activations.NAMES
    off = 19
    for l, (W, b) in enumerate(saved["w"]):
        n_in, n_out = sizes[l], sizes[l + 1]
        flat = struct.unpack_from("<%df" % (n_in * n_out), data, off)
        off += 4 * n_in * n_out
        rows = np.array(flat).reshape(n_out, n_in).T      # stored one row per output
        np.testing.assert_array_equal(rows, np.array(W))
        np.testing.assert_array_equal(struct.unpack_from("<%df" % n_out, data, off), b)
        off += 4 * n_out
    assert struct.unpack_from("<I", data, off)[0] == zlib.crc32(data[:off])
    assert len(data) == off + 4


def _good_file(cpython, tmp_path):
    path = tmp_path / "good.mnn"
    cpython.run(MAKE % (True, "f", str(path), "mnn"))
    return path.read_bytes()


def _crc_fixed(body):
    return body + struct.pack("<I", zlib.crc32(body))


BAD_FILES = {
    # name: (how to spoil good bytes, words the message must contain)
    "truncated-in-weights": (lambda b: b[:40], ["truncated"]),
    "truncated-header": (lambda b: b[:6], ["truncated"]),
    "truncated-layer-table": (lambda b: b[:12], ["truncated", "layer table"]),
    "missing-crc": (lambda b: b[:-4], ["truncated"]),
    "flipped-weight-bit": (lambda b: b[:30] + bytes([b[30] ^ 0x10]) + b[31:], ["corrupted", "CRC"]),
    "flipped-crc": (lambda b: b[:-1] + bytes([b[-1] ^ 1]), ["corrupted", "CRC"]),
    "trailing-data": (lambda b: b + b"\0\0", ["unexpected data"]),
    "wrong-version": (lambda b: b[:3] + b"\x07" + b[4:], ["version 7"]),
    "not-a-model": (lambda b: b"PK\x03\x04" + b[4:], ["not a micronn model"]),
    "empty": (lambda b: b"", ["not a micronn model"]),
    "unknown-dtype": (lambda b: _crc_fixed(b[:4] + b"q" + b[5:-4]), ["dtype"]),
    "unknown-activation": (lambda b: _crc_fixed(b[:16] + b"\x63" + b[17:-4]), ["activation code 99"]),
    "zero-layers": (lambda b: _crc_fixed(b[:5] + b"\0" + b[6:-4]), ["no layers"]),
    "size-zero": (lambda b: _crc_fixed(b[:8] + b"\0\0" + b[10:-4]), ["size 0"]),
    # the layer table says 3-6-4-2 but the weights are for 3-5-4-2: sizes do not match the data
    "mismatched-sizes": (lambda b: _crc_fixed(b[:10] + b"\x06\x00" + b[12:-4]), ["truncated"]),
    "unknown-flags": (lambda b: _crc_fixed(b[:6] + b"\x03" + b[7:-4]), ["flags"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_mnn_files_raise_a_clear_value_error(rt, cpython, tmp_path, case):
    spoil, words = BAD_FILES[case]
    path = tmp_path / "bad.mnn"
    path.write_bytes(spoil(_good_file(cpython, tmp_path)))
    kind, msg = rt.raises("micronn.load(%r)" % str(path))
    assert kind == "ValueError", msg
    assert str(path) in msg
    for w in words:
        assert w in msg, msg


BAD_JSON = {
    "invalid": ("{\"format\": \"micronn\", ", "not valid JSON"),
    "not-ours": (json.dumps({"hello": 1}), "not a micronn model"),
    "version": (json.dumps({"format": "micronn", "version": 9}), "version 9"),
    "missing-key": (json.dumps({"format": "micronn", "version": 1, "layers": [2, 1]}), "no 'activations'"),
    "wrong-shape": (json.dumps({"format": "micronn", "version": 1, "layers": [2, 1], "activations": ["sigmoid"],
                                "bias": False, "dtype": "f", "weights": [[[[1.0], [2.0], [3.0]], None]]}),
                    "W must have 2 rows"),
    "string-weight": (json.dumps({"format": "micronn", "version": 1, "layers": [2, 1], "activations": ["sigmoid"],
                                  "bias": False, "dtype": "f", "weights": [[[[1.0], ["__import__('os')"]], None]]}),
                      "is not a number"),
    "bad-activation": (json.dumps({"format": "micronn", "version": 1, "layers": [2, 1], "activations": ["gelu"],
                                   "bias": False, "dtype": "f", "weights": [[[[1.0], [2.0]], None]]}),
                       "unknown activation 'gelu'"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_models_raise_a_clear_value_error(rt, tmp_path, case):
    text, words = BAD_JSON[case]
    path = tmp_path / "bad.json"
    path.write_text(text)
    kind, msg = rt.raises("micronn.load(%r)" % str(path))
    assert kind == "ValueError", msg
    assert str(path) in msg and words in msg, msg


def test_a_failed_save_leaves_the_old_model_intact(rt, tmp_path):
    """The model goes to a temporary file first: when that fails, the old file is untouched."""
    path = tmp_path / "m.mnn"
    rt.run(MAKE % (True, "f", str(path), "mnn"))
    before = path.read_bytes()
    (tmp_path / "m.mnn.tmp").mkdir()          # the temporary file cannot be created
    kind, msg = rt.raises("""
        net = micronn.Network([3, 2], seed=1)
        net.save(%r)
    """ % str(path))
    assert kind in ("OSError", "IsADirectoryError"), msg
    assert path.read_bytes() == before


def test_saving_replaces_the_old_model(rt, tmp_path):
    path = str(tmp_path / "m.mnn")
    got = rt.run("""
        import json, micronn
        a = micronn.Network([2, 3, 1], seed=1)
        a.save(%r)
        b = micronn.Network([4, 2], seed=2)
        b.save(%r)
        c = micronn.load(%r)
        print(json.dumps([c.sizes, c.get_weights() == b.get_weights()]))
    """ % (path, path, path))
    assert got == [[4, 2], True]


def test_describe_reads_only_the_header(rt, tmp_path):
    path = tmp_path / "m.mnn"
    rt.run(MAKE % (True, "f", str(path), "mnn"))
    got = rt.run("""
        import json
        from micronn import store
        with open(%r, "rb") as f:
            print(json.dumps(store.describe(f)))
    """ % str(path))
    assert got == {"layers": [3, 5, 4, 2], "activations": ["tanh", "relu", "softmax"], "bias": True,
                   "dtype": "f", "n_params": 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2, "nbytes": 4 * 54}


def test_a_complete_temporary_file_is_used_when_the_model_is_missing(rt, tmp_path):
    """A reset between FAT's remove-then-rename leaves only model.tmp: it still loads."""
    good = tmp_path / "good.mnn"
    saved = rt.run(MAKE % (True, "f", str(good), "mnn"))
    (tmp_path / "m.mnn.tmp").write_bytes(good.read_bytes())
    assert rt.run(LOAD % str(tmp_path / "m.mnn"))["w"] == saved["w"]


def test_a_partial_temporary_file_is_not_used(rt, tmp_path):
    good = tmp_path / "good.mnn"
    rt.run(MAKE % (True, "f", str(good), "mnn"))
    (tmp_path / "m.mnn.tmp").write_bytes(good.read_bytes()[:50])
    kind, msg = rt.raises("micronn.load(%r)" % str(tmp_path / "m.mnn"))
    assert kind in ("OSError", "FileNotFoundError"), msg
