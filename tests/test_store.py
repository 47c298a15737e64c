"""Model files: round trips on both runtimes, across runtimes, and every kind of bad file."""
import functools
import json
import shutil
import struct
import zlib

import numpy as np
import pytest

# "bits": the weights' bytes, for comparing runtimes whose floats print differently (a float32
# board prints 8 significant digits)
MAKE = """
    import binascii, json, micronn
    net = micronn.Network([3, 5, 4, 2], activation=["tanh", "relu"], output="softmax", bias=%r,
                          seed=9, dtype=%r)
    net.fit([[0.1, 0.2, 0.3], [0.9, 0.1, 0.4], [0.5, 0.5, 0.5]], [[1, 0], [0, 1], [1, 0]],
            epochs=5, lr=0.1, loss="cce")
    net.save(%r, format=%r)
    bits = [binascii.hexlify(bytes(a)).decode() for L in net.layers for a in (L.W, L.b) if a is not None]
    print(json.dumps({"w": net.get_weights(), "p": net.predict([0.3, 0.2, 0.1]), "bits": bits}))
"""

LOAD = """
    import binascii, json, micronn
    net = micronn.load(%r)
    bits = [binascii.hexlify(bytes(a)).decode() for L in net.layers for a in (L.W, L.b) if a is not None]
    print(json.dumps({"w": net.get_weights(), "p": net.predict([0.3, 0.2, 0.1]), "sizes": net.sizes,
                      "acts": net.activations, "bias": net.bias, "dtype": net.dtype, "bits": bits}))
"""


KINDS = [(fmt, dtype, bias) for fmt in ("mnn", "json") for dtype in ("f", "d") for bias in (True, False)]
GOOD = ("mnn", "f", True)        # the model the bad files and the file tests start from


@pytest.fixture(scope="session")
def made(tmp_path_factory):
    """made(rt): one model of every kind saved by rt, all in one interpreter; {kind: (path,
    what it saved)}, each file alone in its directory."""
    @functools.cache
    def on(rt):
        tmp = tmp_path_factory.mktemp("made-" + rt.name)
        paths = {}
        for fmt, dtype, bias in KINDS:
            d = tmp / ("%s-%s-%s" % (fmt, dtype, bias))
            d.mkdir()
            paths[fmt, dtype, bias] = d / ("m." + fmt)
        got = rt.run_batch({kind: MAKE % (kind[2], kind[1], str(path), kind[0]) for kind, path in paths.items()})
        return {kind: (paths[kind], got[kind].value) for kind in KINDS}
    return on


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


@pytest.fixture(scope="session")
def checked(tmp_path_factory, made, cpython):
    """checked(rt): the files made by rt loaded again in a fresh interpreter, the bad files (spoiled
    here from a file CPython wrote) and the other file cases, all in one interpreter;
    (tmp directory, {key: Result})."""
    @functools.cache
    def on(rt):
        tmp = tmp_path_factory.mktemp("checked-" + rt.name)
        cases = {("load",) + kind: LOAD % str(path) for kind, (path, _) in made(rt).items()}
        good = made(cpython)[GOOD][0].read_bytes()
        for case, (spoil, _) in BAD_FILES.items():
            path = tmp / ("mnn-" + case) / "bad.mnn"
            path.parent.mkdir()
            path.write_bytes(spoil(good))
            cases["bad-mnn", case] = "import micronn\nmicronn.load(%r)" % str(path)
        for case, (text, _) in BAD_JSON.items():
            path = tmp / ("json-" + case) / "bad.json"
            path.parent.mkdir()
            path.write_text(text)
            cases["bad-json", case] = "import micronn\nmicronn.load(%r)" % str(path)
        own = made(rt)[GOOD][0]
        for name in ("failed-save", "replaces", "complete-tmp", "partial-tmp"):
            (tmp / name).mkdir()
        shutil.copy(own, tmp / "failed-save" / "m.mnn")
        (tmp / "failed-save" / "m.mnn.tmp").mkdir()          # the temporary file cannot be created
        cases["failed-save"] = """
            import micronn
            net = micronn.Network([3, 2], seed=1)
            net.save(%r)
        """ % str(tmp / "failed-save" / "m.mnn")
        path = str(tmp / "replaces" / "m.mnn")
        cases["replaces"] = """
            import json, micronn
            a = micronn.Network([2, 3, 1], seed=1)
            a.save(%r)
            b = micronn.Network([4, 2], seed=2)
            b.save(%r)
            c = micronn.load(%r)
            print(json.dumps([c.sizes, c.get_weights() == b.get_weights()]))
        """ % (path, path, path)
        cases["describe"] = """
            import json
            from micronn import store
            with open(%r, "rb") as f:
                print(json.dumps(store.describe(f)))
        """ % str(own)
        shutil.copy(own, tmp / "complete-tmp" / "m.mnn.tmp")
        cases["complete-tmp"] = LOAD % str(tmp / "complete-tmp" / "m.mnn")
        (tmp / "partial-tmp" / "m.mnn.tmp").write_bytes(own.read_bytes()[:50])
        cases["partial-tmp"] = "import micronn\nmicronn.load(%r)" % str(tmp / "partial-tmp" / "m.mnn")
        return tmp, rt.run_batch(cases)
    return on


@pytest.mark.parametrize("fmt", ["mnn", "json"])
@pytest.mark.parametrize("dtype", ["f", "d"])
@pytest.mark.parametrize("bias", [True, False])
def test_round_trip_on_one_runtime(rt, made, checked, fmt, dtype, bias):
    path, saved = made(rt)[fmt, dtype, bias]
    loaded = checked(rt)[1]["load", fmt, dtype, bias].value
    assert loaded["w"] == saved["w"]          # exactly: float32 values survive both formats
    assert loaded["p"] == saved["p"]
    assert loaded["sizes"] == [3, 5, 4, 2]
    assert loaded["acts"] == ["tanh", "relu", "softmax"]
    assert loaded["bias"] is bias and loaded["dtype"] == dtype
    assert sorted(p.name for p in path.parent.iterdir()) == ["m." + fmt], "no temporary file left"


@pytest.fixture(scope="session")
def cross(made):
    """cross(writer, reader): the float32 models writer saved, loaded by reader."""
    @functools.cache
    def on(writer, reader):
        files = made(writer)
        return reader.run_batch({fmt: LOAD % str(files[fmt, "f", True][0]) for fmt in ("mnn", "json")})
    return on


@pytest.mark.parametrize("fmt", ["mnn", "json"])
@pytest.mark.parametrize("writer,reader", [("cpython", "micropython"), ("micropython", "cpython")] + [
    pytest.param(*pair, marks=[pytest.mark.board, pytest.mark.emulator]) for pair in (("cpython", "m4f"), ("m4f", "cpython"))])
def test_a_file_from_one_runtime_loads_on_the_other(made, cross, fmt, writer, reader):
    from conftest import runtime
    w, r = runtime(writer), runtime(reader)
    saved = made(w)[fmt, "f", True][1]
    loaded = cross(w, r)[fmt].value
    # JSON too: store writes a float32 as the shortest decimal that reads back as its bits and
    # reads it with integers, so a float32 board's 8-digit repr plays no part (test_json_exact)
    assert loaded["bits"] == saved["bits"]
    if not (w.float32 or r.float32):
        assert loaded["w"] == saved["w"]        # the same floats, printed the same
    # float32 models predict through MicroPython's integer kernels, rounded to float32
    np.testing.assert_allclose(loaded["p"], saved["p"], rtol=0, atol=1e-6)


def test_the_mnn_layout_is_as_documented(cpython, made):
    """Parse a file by hand from the documented layout: proves the format, not just a round trip."""
    path, saved = made(cpython)[GOOD]
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



@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_mnn_files_raise_a_clear_value_error(rt, checked, case):
    tmp, got = checked(rt)
    kind, msg = got["bad-mnn", case].raised()
    assert kind == "ValueError", msg
    assert str(tmp / ("mnn-" + case) / "bad.mnn") in msg
    for w in BAD_FILES[case][1]:
        assert w in msg, msg


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_models_raise_a_clear_value_error(rt, checked, case):
    tmp, got = checked(rt)
    kind, msg = got["bad-json", case].raised()
    assert kind == "ValueError", msg
    assert str(tmp / ("json-" + case) / "bad.json") in msg and BAD_JSON[case][1] in msg, msg


def test_a_failed_save_leaves_the_old_model_intact(rt, made, checked):
    """The model goes to a temporary file first: when that fails, the old file is untouched."""
    tmp, got = checked(rt)
    kind, msg = got["failed-save"].raised()
    assert kind in ("OSError", "IsADirectoryError"), msg
    assert (tmp / "failed-save" / "m.mnn").read_bytes() == made(rt)[GOOD][0].read_bytes()


def test_saving_replaces_the_old_model(rt, checked):
    assert checked(rt)[1]["replaces"].value == [[4, 2], True]


def test_describe_reads_only_the_header(rt, checked):
    assert checked(rt)[1]["describe"].value == {
        "layers": [3, 5, 4, 2], "activations": ["tanh", "relu", "softmax"], "bias": True,
        "dtype": "f", "n_params": 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2, "nbytes": 4 * 54}


def test_a_complete_temporary_file_is_used_when_the_model_is_missing(rt, made, checked):
    """A reset between FAT's remove-then-rename leaves only model.tmp: it still loads."""
    assert checked(rt)[1]["complete-tmp"].value["w"] == made(rt)[GOOD][1]["w"]


def test_a_partial_temporary_file_is_not_used(rt, checked):
    kind, msg = checked(rt)[1]["partial-tmp"].raised()
    assert kind in ("OSError", "FileNotFoundError"), msg


JSON_TWIN = """
import json, micronn
changed = []
for seed in range(1, 6):
    net = micronn.Network([8, 16, 4], seed=seed)
    net.save(%r, format="json")
    again = micronn.load(%r)
    changed.append(sum(1 for a, b in zip(net.layers, again.layers) for buf in ("W", "b")
                       for x, y in zip(bytes(getattr(a, buf)), bytes(getattr(b, buf))) if x != y))
print(json.dumps(changed))
"""


def test_a_float32_model_comes_back_from_its_json_twin_bit_for_bit(rt, tmp_path):
    """Five float32 8-16-4 networks saved as JSON and loaded again on the same runtime: not a
    byte of their weights changes."""
    path = str(tmp_path / "twin.json")
    changed = rt.run(JSON_TWIN % (path, path))
    assert changed == [0] * 5       # on a float32 runtime too (json.dumps would print 8 digits)
