"""The board workflow on the emulated micro:bit (MicroPython 1.9.2, ~9.8 KB of heap, 30-bit
floats), as a user runs it: `micronn sim --board microbit`, then the same `micronn` commands as
for any board, as subprocesses.  What is special here: the float tolerance, the memory refusal,
the options the board cannot do, and resets and Ctrl-C that must not lose the model."""
import json
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

import micronn
from boards import ARTICLE, BIN, MICRONN, Sim, cli, one_error_line, start_cli
from microbit_support import need_emulator
from micronn_host.sim import qemu as qemu_microbit

pytestmark = [pytest.mark.board, pytest.mark.emulator]

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
Y = [[0], [1], [1], [0]]
# Measured with bench/microbit_article.py (the same commands, seeds 1-8): the board's
# predictions stay within 1.4e-5 of lib/micronn's float64 result and its weights within 1.1e-3
# (the micro:bit's floats are float32 with the last two mantissa bits cut).  The tests allow
# about four times that.
PRED_TOL = 5e-5
WEIGHT_TOL = 5e-3


@pytest.fixture(scope="module")
def mb(tmp_path_factory):
    """One emulated micro:bit for the module, started as a user does (each test uses its own
    model names)."""
    need_emulator()
    sim = Sim(tmp_path_factory.mktemp("microbit"), "microbit")
    yield sim
    sim.stop()


def board_files(port):
    """{name: size} of the board's files, read through micronn's own connection."""
    from micronn_host.boards import connect
    with connect(port) as board:
        board.fresh()
        return board.files()


def article(seed, epochs, dtype="d"):
    net = micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=seed, dtype=dtype)
    if epochs:
        net.fit(X, Y, epochs=epochs, lr=1.0, loss="sse")
    return net


def flat(net):
    return np.concatenate([np.ravel(W) for W, b in net.get_weights()] +
                          [np.ravel(b) for W, b in net.get_weights() if b is not None])


def assert_article_after(path, epochs, every):
    """The model at path is the article's network (seed 1) after `epochs` epochs: its weights
    and predictions are within the board's tolerance of the host's, and its weights clearly
    apart from `every` epochs earlier (they move faster than the predictions)."""
    got = micronn.load(str(path))
    before, want = article(1, epochs - every), article(1, epochs)
    np.testing.assert_allclose(flat(got), flat(want), rtol=0, atol=WEIGHT_TOL)
    np.testing.assert_allclose(got.predict_many(X), want.predict_many(X), rtol=0, atol=PRED_TOL)
    assert np.abs(flat(got) - flat(before)).max() > 2 * WEIGHT_TOL


def wait_for_progress(proc):
    line = proc.stdout.readline()
    while line and not line.startswith("epoch"):
        line = proc.stdout.readline()
    assert line.startswith("epoch"), proc.stderr.read()


# -- micronn sim ----------------------------------------------------------------------------------

def test_sim_names_the_debian_packages_when_the_emulator_is_missing(tmp_path):
    env = dict(os.environ, PATH=str(BIN))                   # no qemu-system-arm on this PATH
    p = subprocess.run(MICRONN + ["sim", "--board", "microbit", "--link", str(tmp_path / "mb")],
                       capture_output=True, text=True, env=env, timeout=60)
    msg = one_error_line(p)
    assert "qemu-system-arm (the QEMU ARM emulator) not found" in msg
    assert "install the Debian packages qemu-system-arm firmware-microbit-micropython" in msg
    assert not os.path.lexists(tmp_path / "mb")


def test_a_missing_firmware_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(qemu_microbit, "FIRMWARE", str(tmp_path / "firmware.hex"))
    why = qemu_microbit.missing()
    assert why and str(tmp_path / "firmware.hex") in why and "firmware-microbit-micropython" in why


def test_sim_runs_the_emulator_until_ctrl_c(tmp_path):
    need_emulator()
    sim = Sim(tmp_path, "microbit")
    try:
        assert sim.banner.startswith("micronn sim: emulated BBC micro:bit")
        assert os.path.realpath(sim.port).startswith("/dev/pts/")
        d = json.loads(cli("info", "--json", port=sim.port, check=True).stdout)
        assert d["platform"] == "microbit" and d["release"] == "1.0.1" and d["version"].startswith("1.9.2 ")
    finally:
        sim.proc.send_signal(signal.SIGINT)
        assert sim.proc.wait(20) == 0
    assert not os.path.lexists(sim.port)


# -- info and deploy ------------------------------------------------------------------------------

def test_info_and_deploy_say_what_the_board_is_and_what_runs_there(mb):
    d = json.loads(cli("info", "--json", port=mb.port, check=True).stdout)
    assert d["tiny"] and d["platform"] == "microbit" and d["machine"] == "micro:bit with nRF51822"
    assert 9000 < d["free"] < 10500 and d["mpy"] == 0 and d["mpy_version"] is None and not d["native"]
    assert d["micronn"] is None and 0 < d["flash_free"] <= 15000
    text = cli("info", port=mb.port, check=True).stdout
    assert "free heap:   %d bytes" % d["free"] in text
    assert "micronn:     a program made for each model (lib/micronn does not fit this board)" in text
    out = cli("deploy", port=mb.port, check=True).stdout
    assert "a micro:bit-class board (microbit), %d bytes of heap free" % d["free"] in out
    assert "deploy copies nothing" in out and "a small program made for each model" in out
    assert out.strip().endswith("the board is ready")


# -- train, fetch, predict ------------------------------------------------------------------------

@pytest.mark.slow
def test_the_article_trains_on_the_board_like_float64_on_the_host(mb, xor, tmp_path):
    hist = tmp_path / "h.csv"
    p = cli("train", xor, *ARTICLE, "--epochs", 1500, "--model", "article", "--history", hist,
            port=mb.port, check=True)
    assert "training 3-4-1 (16 parameters) on the board" in p.stdout
    assert "epoch 1500/1500 [########################]" in p.stdout
    m = re.search(r"trained 1500 epochs in [\d.]+s on the board: loss ([\d.e-]+); model saved to "
                  r"(article\.\d+\.mnn)", p.stdout)
    assert m, p.stdout
    host = article(1, 1500)
    assert float(m.group(1)) == pytest.approx(host.evaluate(X, Y, "sse"), abs=1e-4)
    curve = np.loadtxt(hist, delimiter=",", skiprows=1)
    assert curve.shape == (1500, 2) and list(curve[:, 0]) == list(range(1, 1501))
    assert all(np.diff(curve[:, 1]) < 0)

    dest = tmp_path / "article.mnn"
    p = cli("fetch", "--model", "article", "-o", dest, port=mb.port, check=True)
    assert "fetched %s (3-4-1, 16 parameters, 84 bytes, CRC ok)" % m.group(2) in p.stdout
    got = micronn.load(str(dest))            # micronn's reader checks every field and the CRC
    assert got.dtype == "f" and got.sizes == [3, 4, 1] and not got.bias
    np.testing.assert_allclose(flat(got), flat(host), rtol=0, atol=WEIGHT_TOL)

    pred = json.loads(cli("predict", "--model", "article", "--csv", xor, "--json", port=mb.port,
                          check=True).stdout)
    want = host.predict_many(X)
    assert [round(r[0]) for r in pred] == [round(r[0]) for r in want] == [0, 1, 1, 0]
    np.testing.assert_allclose(pred, want, rtol=0, atol=PRED_TOL)
    p = cli("predict", "--model", "article", "--csv", xor, "--compare", port=mb.port, check=True)
    assert "target 1" in p.stdout
    assert float(p.stdout.split()[-1]) <= PRED_TOL      # the fetched model run here
    one = json.loads(cli("predict", "--model", "article", "1", "0", "1", "--json", port=mb.port,
                         check=True).stdout)
    assert one == [pred[2]]


@pytest.mark.slow
def test_the_program_is_sent_only_when_the_job_needs_another(mb, xor):
    args = ["--layers", "3,4,1", "--loss", "mse", "--epochs", 5]
    cli("train", xor, *args, "--model", "p1", port=mb.port, check=True)
    again = cli("train", xor, *args, "--model", "p2", port=mb.port, check=True).stdout
    assert "sent micronn's program" not in again and "trained 5 epochs" in again
    other = cli("train", xor, "--layers", "3,4,1", "--loss", "sse", "--epochs", 5, "--model", "p3",
                port=mb.port, check=True).stdout
    assert "sent micronn's program for 3-4-1 sigmoid,sigmoid with biases, loss sse" in other
    names = board_files(mb.port)
    assert {"mnnk.py", "mnn.py", "mnnf.py", "mnnj.py"} <= set(names)
    assert not {"mnn.dat", "mnn.ini"} & set(names)          # the job's files are gone


@pytest.mark.slow
def test_tanh_biases_and_shuffled_mini_batches_train_like_the_host(mb, tmp_path):
    # math.tanh is missing on the board (the program brings its own) and shuffling runs
    # lib/micronn's xorshift generator on the board's big integers
    data = tmp_path / "d.csv"
    data.write_text("0,0,0\n0,1,1\n1,0,1\n1,1,0\n0.5,0.5,0.5\n")
    args = ["--layers", "2,6,1", "--activation", "tanh", "--output", "sigmoid", "--seed", 9, "--epochs", 200,
            "--lr", 0.5, "--batch-size", 2]
    cli("train", data, *args, "--model", "tanh", port=mb.port, check=True)
    cli("fetch", "--model", "tanh", "-o", tmp_path / "board.mnn", port=mb.port, check=True)
    cli("fit", data, *args, "-o", tmp_path / "host.mnn", check=True)
    board, host = micronn.load(str(tmp_path / "board.mnn")), micronn.load(str(tmp_path / "host.mnn"))
    np.testing.assert_allclose(flat(board), flat(host), rtol=0, atol=WEIGHT_TOL)


@pytest.mark.slow
def test_push_converts_to_float32_and_replaces_the_model_once_it_loads(mb, tmp_path):
    first = micronn.Network([2, 3, 1], activation="tanh", output="sigmoid", seed=7, dtype="d")
    first.save(str(tmp_path / "first.mnn"))
    p = cli("push", tmp_path / "first.mnn", "--model", "pushed", port=mb.port, check=True)
    g1 = int(re.search(r"pushed\.(\d+)\.mnn; it loads on the board", p.stdout).group(1))
    cli("fetch", "--model", "pushed", "-o", tmp_path / "back.mnn", port=mb.port, check=True)
    back = micronn.load(str(tmp_path / "back.mnn"))
    assert back.dtype == "f"
    assert flat(back).tolist() == [float(np.float32(v)) for v in flat(first)]

    second = micronn.Network([2, 3, 1], activation="tanh", output="sigmoid", seed=8)
    second.save(str(tmp_path / "second.json"), format="json")
    cli("push", tmp_path / "second.json", "--model", "pushed", port=mb.port, check=True)
    assert [n for n in board_files(mb.port) if n.startswith("pushed.")] == ["pushed.%d.mnn" % (g1 + 1)]
    p = cli("predict", "--model", "pushed", "0.1", "0.9", "--compare", port=mb.port, check=True)
    assert float(p.stdout.split()[0]) == pytest.approx(second.predict([0.1, 0.9])[0], abs=PRED_TOL)
    assert float(p.stdout.split()[-1]) <= PRED_TOL

    q = micronn.quantize(second)
    q.save(str(tmp_path / "q.mnn"))
    msg = one_error_line(cli("push", tmp_path / "q.mnn", "--model", "pushed", port=mb.port))
    assert "an int8 model does not run on this board" in msg


def test_a_model_fit_here_is_pushed_without_what_the_board_cannot_read(mb, tmp_path):
    """`micronn fit` on a CSV with a header writes a version-2 file (column names, a training
    summary), which the board's program does not read: push sends the weights alone; a model
    that scales its inputs is refused in one line, before anything is sent."""
    data = tmp_path / "named.csv"
    data.write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    cli("fit", data, "--layers", "2,3,1", "--epochs", 5, "--seed", 1, "-o", tmp_path / "fit.mnn", check=True)
    net = micronn.load(str(tmp_path / "fit.mnn"))
    assert net.dtype == "f" and net.summary and net.inputs == ["a", "b"]
    cli("push", tmp_path / "fit.mnn", "--model", "fitted", port=mb.port, check=True)
    got = json.loads(cli("predict", "--model", "fitted", "0.25", "0.75", "--json", port=mb.port,
                         check=True).stdout)
    np.testing.assert_allclose(got, [net.predict([0.25, 0.75])], rtol=0, atol=PRED_TOL)

    cli("fit", data, "--layers", "2,3,1", "--epochs", 5, "--seed", 1, "--scale", "minmax",
        "-o", tmp_path / "scaled.mnn", check=True)
    before = board_files(mb.port)
    msg = one_error_line(cli("push", tmp_path / "scaled.mnn", "--model", "scaled", port=mb.port))
    assert "this model scales its inputs" in msg
    assert board_files(mb.port) == before
    # a classifier: its weights go, and push says the class names stay here, in output order
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("a,b,y\n0,0,off\n0,1,on\n1,0,on\n1,1,off\n")
    cli("fit", labelled, "--target", "y", "--layers", "3", "--scale", "none", "--epochs", 5, "--seed", 1,
        "-o", tmp_path / "cls.mnn", check=True)
    out = cli("push", tmp_path / "cls.mnn", "--model", "cls", port=mb.port, check=True).stdout
    assert "this board keeps the weights only, not the class names: its outputs are, in order, off, on" in out, out
    from micronn_host.boards import connect
    with connect(mb.port) as board:     # the flash as the tests after this one expect it
        board.fresh()
        board.remove("fitted.1.mnn")
        board.remove("cls.1.mnn")


@pytest.mark.slow
def test_a_damaged_newest_generation_is_skipped(mb, tmp_path):
    from micronn_host.boards import connect
    from micronn_host.boards.tiny import mnn_bytes
    net = micronn.Network([3, 5, 1], activation="tanh", output="sigmoid", seed=6)
    net.save(str(tmp_path / "m.mnn"))
    p = cli("push", tmp_path / "m.mnn", "--model", "damaged", port=mb.port, check=True)
    gen = int(re.search(r"damaged\.(\d+)\.mnn", p.stdout).group(1))
    with connect(mb.port) as board:                 # a checkpoint cut short, as by a reset
        board.fresh()
        board.put("damaged.%d.mnn" % (gen + 1), mnn_bytes(net)[:-9])
    p = cli("fetch", "--model", "damaged", "-o", tmp_path / "got.mnn", port=mb.port, check=True)
    assert "fetched damaged.%d.mnn" % gen in p.stdout
    assert (tmp_path / "got.mnn").read_bytes() == (tmp_path / "m.mnn").read_bytes()
    got = json.loads(cli("predict", "--model", "damaged", "0", "1", "1", "--json", port=mb.port,
                         check=True).stdout)
    np.testing.assert_allclose(got, [net.predict([0, 1, 1])], rtol=0, atol=PRED_TOL)
    cli("deploy", port=mb.port, check=True)         # tidies: the damaged generation goes
    assert "damaged.%d.mnn" % (gen + 1) not in board_files(mb.port)


# -- refusals: one line, non-zero status, nothing sent --------------------------------------------

def test_a_model_too_large_for_the_board_is_refused_with_the_numbers(mb, tmp_path):
    data = tmp_path / "wide.csv"
    data.write_text("".join(",".join("%.2f" % ((i * 7 + j) % 10 / 10) for j in range(9)) + "\n" for i in range(16)))
    before = board_files(mb.port)
    # far too large: refused before anything is sent
    msg = one_error_line(cli("train", data, "--layers", "8,200,200,1", "--epochs", 1, port=mb.port))
    m = re.search(r"training the model 8-200-200-1 on 16 samples needs (\d+) bytes of heap on the board, "
                  r"which has (\d+) free in all", msg)
    assert m and int(m.group(1)) > 160000 and 9000 < int(m.group(2)) < 10500, msg
    # a little too large: refused once the program is on the board, before the job allocates
    msg = one_error_line(cli("train", data, "--layers", "8,24,1", "--epochs", 1, port=mb.port))
    m = re.search(r"training the model 8-24-1 on 16 samples needs (\d+) bytes of heap on the board, "
                  r"which has (\d+) free with micronn's program loaded", msg)
    assert m and int(m.group(1)) > int(m.group(2)) > 1000, msg
    after = board_files(mb.port)
    assert not [n for n in after if n not in before and not n.startswith("mnn")]   # only the program
    assert "mnn.dat" not in after


@pytest.mark.parametrize("option, words", [
    (["--optimizer", "adam"], "--optimizer adam: this board trains with sgd only"),
    (["--optimizer", "momentum"], "--optimizer momentum: this board trains with sgd only"),
    (["--model", "a b"], "--model 'a b': on this board a model name is 1 to 24 letters"),
])
def test_options_the_board_cannot_do_are_refused(mb, xor, option, words):
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", *option, port=mb.port))
    assert words in msg


def test_convolutions_are_refused_in_one_line(mb, tmp_path):
    """The board runs a program made for dense networks: a training job with layer specs and a
    model file with convolutions, float or int8, are refused before anything is sent."""
    data = tmp_path / "windows.csv"
    data.write_text("a0,b0,a1,b1,a2,b2,a3,b3,label\n" + "".join(
        ",".join("%.2f" % ((i * 7 + j) % 10 / 10) for j in range(8)) + ",%d\n" % (i % 2) for i in range(12)))
    before = board_files(mb.port)
    for layers in ("4x2,conv2k2,gap", "4x2,maxpool2,3"):
        msg = one_error_line(cli("train", data, "--layers", layers, "--epochs", 1, port=mb.port))
        assert "this board runs a program made for each model, with dense layers only, not convolutions" in msg, msg
    net = micronn.Network(["4x2", "conv2k2", "maxpool2", 2], seed=1)
    net.save(str(tmp_path / "cnn.mnn"))
    micronn.quantize(net).save(str(tmp_path / "cnn8.mnn"))
    for name in ("cnn", "cnn8"):
        msg = one_error_line(cli("push", tmp_path / (name + ".mnn"), "--model", name, port=mb.port))
        assert "the model 4x2-conv2k2-maxpool2-2: this board runs a program made for each model" in msg, msg
    assert board_files(mb.port) == before


def test_a_missing_model_is_named(mb):
    msg = one_error_line(cli("fetch", "--model", "nothing", port=mb.port))
    assert "no model 'nothing' on the board (models there:" in msg
    msg = one_error_line(cli("predict", "--model", "nothing", "1", "2", "3", port=mb.port))
    assert "no model 'nothing' on the board" in msg


# -- resets and Ctrl-C: nothing lost --------------------------------------------------------------

EVERY = 20             # --epochs 20000: a progress line (and a chance to stop) every 20 epochs


def long_training(mb, xor, model):
    """A training that would run for half a minute, once it has made a few checkpoints."""
    proc = start_cli("train", xor, *ARTICLE, "--epochs", 1000 * EVERY, "--checkpoint", 0.2, "--model", model,
                     port=mb.port)
    wait_for_progress(proc)
    time.sleep(1.0)
    return proc


def ended(proc, status, pattern):
    """The match of pattern in the last line a stopped `micronn train` printed, and stderr."""
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    m = re.search(pattern, err.strip().splitlines()[-1])
    assert m, err
    return m, err


def fetched_after(mb, tmp_path, model, file, epochs):
    """`micronn fetch` brings the board's file of model, the article after `epochs` epochs."""
    p = cli("fetch", "--model", model, "-o", tmp_path / "fetched.mnn", port=mb.port, check=True)
    assert "fetched %s" % file in p.stdout
    assert_article_after(tmp_path / "fetched.mnn", epochs, EVERY)


@pytest.mark.slow
def test_a_reset_mid_training_leaves_the_last_checkpoint(mb, xor, tmp_path):
    proc = long_training(mb, xor, "reset")
    mb.reset()
    m, err = ended(proc, 1, r"^micronn: the board at \S+ reset in the middle of a command during training; "
                   r"the last checkpoint \(epoch (\d+)\) is in (reset\.\d+\.mnn) on the board$")
    fetched_after(mb, tmp_path, "reset", m.group(2), int(m.group(1)))


def test_ctrl_c_stops_training_between_epochs_and_saves(mb, xor, tmp_path):
    proc = long_training(mb, xor, "stop")
    proc.send_signal(signal.SIGINT)
    m, err = ended(proc, 130, r"^micronn: training stopped by Ctrl-C after epoch (\d+) \(loss [\d.e-]+\); "
                   r"the board saved the model to (stop\.\d+\.mnn)$")
    assert "stopping after the current epoch" in err
    fetched_after(mb, tmp_path, "stop", m.group(2), int(m.group(1)))
    assert not {"mnn.dat", "mnn.ini"} & set(board_files(mb.port))


def test_a_second_ctrl_c_interrupts_at_once_and_a_whole_checkpoint_stays(mb, xor, tmp_path):
    proc = long_training(mb, xor, "twice")
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    m, err = ended(proc, 130, r"^micronn: stopped waiting for the board; the last checkpoint \(epoch (\d+)\) "
                   r"is in twice\.(\d+)\.mnn on the board$")
    # the board got Ctrl-C wherever it was, maybe in the middle of a checkpoint (fetch skips
    # one cut short), maybe after one more that the host did not wait for
    p = cli("fetch", "--model", "twice", "-o", tmp_path / "t.mnn", port=mb.port, check=True)
    gen = int(re.search(r"fetched twice\.(\d+)\.mnn", p.stdout).group(1))
    assert gen in (int(m.group(2)), int(m.group(2)) + 1)
    got = flat(micronn.load(str(tmp_path / "t.mnn")))
    net, epoch = article(1, int(m.group(1))), int(m.group(1))
    while np.abs(got - flat(net)).max() > WEIGHT_TOL:                    # the epoch it was saved at
        net.fit(X, Y, epochs=EVERY, lr=1.0, loss="sse")
        epoch += EVERY
        assert epoch <= int(m.group(1)) + 200 * EVERY, "not the article after any epoch the board reached"
    assert_article_after(tmp_path / "t.mnn", epoch, EVERY)


def test_a_training_option_the_program_does_not_take_is_refused_not_ignored(monkeypatch):
    """A training option added to micronn.job.FIELDS later (here min_delta, of fit) reaches lib's
    boards through the job unchanged; the micro:bit's program would drop it, so a job that sets
    it is refused in one line before anything is sent, and one that leaves it at its default runs."""
    from micronn import job as jobs
    from micronn_host.boards.base import Capabilities
    from micronn_host.boards.tiny import TAKES, TinyBoard
    from micronn_host.errors import MicronnError
    monkeypatch.setattr(jobs, "FIELDS", jobs.FIELDS + (("min_delta", "fit", 0.0, "float", "test"),))
    tiny = TinyBoard.__new__(TinyBoard)         # no board needed: check_job reads only caps
    tiny.caps = Capabilities("microbit", 9000, 62, runs_lib=False, optimizers=("sgd",), scales=False, int8=False,
                             renames=False, conv=False, takes=TAKES)
    job = {"net": {"layers": [3, 4, 1]}, "fit": {"optimizer": "sgd", "scale": None, "min_delta": 0.5}, "run": {}}
    with pytest.raises(MicronnError, match=r"^--min-delta: this board's training program does not take it"):
        tiny.check_job(job)
    job["fit"]["min_delta"] = 0.0
    tiny.check_job(job)


@pytest.mark.parametrize("run, kw, what", [
    ({"val": 0.2}, {}, "--val or --val-data"),
    ({}, {"validation": True}, "--val or --val-data"),
    ({"patience": 5}, {}, "--patience"),
    ({}, {"resume": True}, "--resume"),
    ({}, {"meta": {"classes": ["off", "on"]}}, "class names"),
])
def test_what_only_lib_micronn_runs_is_refused_with_what_to_do_instead(run, kw, what):
    from micronn_host.boards.base import Capabilities
    from micronn_host.boards.tiny import TAKES, TinyBoard
    from micronn_host.errors import MicronnError
    tiny = TinyBoard.__new__(TinyBoard)
    tiny.caps = Capabilities("microbit", 9000, 62, runs_lib=False, optimizers=("sgd",), scales=False, int8=False,
                             renames=False, conv=False, takes=TAKES)
    job = {"net": {"layers": [2, 3, 1]}, "fit": {"optimizer": "sgd", "scale": None}, "run": run}
    with pytest.raises(MicronnError) as e:
        tiny.check_job(job, **kw)
    msg = str(e.value)
    assert msg.startswith(what + ": this board runs a program made for each model"), msg
    assert ("`micronn fit --scale none` here" in msg) == (what == "class names"), msg
