"""The program micronn_host.tinyprog generates for small boards computes what lib/micronn
computes: run on CPython and on the MicroPython unix port, it ends at the same weights, bit for
bit, as Network.fit from the same start, for every activation, loss and batch mode."""
import ast
import io
import shutil
import struct
import subprocess
import textwrap

import pytest

import micronn
from micronn import losses, store
from micronn_host import dataset, libsource
from micronn_host.tiny import minify
from micronn_host.tiny import program as tinyprog

from conftest import float64_only

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1], [0.5, 0.2, 1]]
Y1 = [[0], [1], [1], [0], [0.5]]
Y2 = [[1, 0], [0, 1], [0, 1], [1, 0], [0.5, 0.5]]

# layers, hidden activations, output, bias, loss, batch size, dtype
CONFIGS = {
    "article-d": ([3, 4, 1], "sigmoid", "sigmoid", False, "sse", None, "d"),
    "article-f": ([3, 4, 1], "sigmoid", "sigmoid", False, "sse", None, "f"),
    "softmax-minibatch": ([3, 5, 4, 2], "tanh", "softmax", True, "cce", 2, "d"),
    "linear-online": ([3, 5, 1], "relu", "linear", True, "mse", 1, "d"),
    "bce-short-last-batch": ([3, 5, 1], "leaky_relu", "sigmoid", True, "bce", 3, "f"),
    "two-hidden": ([3, 6, 5, 1], ["sigmoid", "tanh"], "sigmoid", True, "mse", None, "f"),
}


def mnn_bytes(net):
    f = io.BytesIO()
    store.write(f, store.header(net.describe()), net.buffers())
    return f.getvalue()


def _net(cfg, seed=5):
    sizes, hidden, output, bias, loss, bs, dtype = cfg
    return micronn.Network(sizes, activation=hidden, output=output, bias=bias, init="uniform", seed=seed,
                           dtype=dtype)


def _files(tmp, net, spec, X, Y):
    for name, src in tinyprog.build(spec):
        (tmp / (name + ".py")).write_text(src)
    (tmp / "m.mnn").write_bytes(mnn_bytes(net))
    Xf, n = micronn.data.pack(X, net.sizes[0], net.dtype, "X")
    Yf, _ = micronn.data.pack(Y, net.sizes[-1], net.dtype, "Y") if Y else (None, 0)
    # the data file every board gets (MND), here with the network's own float type
    head = dataset.MAGIC + struct.pack("<IHH", n, net.sizes[0], net.sizes[-1] if Y else 0)
    (tmp / "d.dat").write_bytes(head + Xf.tobytes() + (Yf.tobytes() if Y else b""))


def _run(rt, tmp, code):
    """Run code in tmp (where the program's modules are) under rt; return its output lines."""
    prelude = ("import sys\nsys.path.insert(0, '.')\nimport gc\n"
               "if not hasattr(gc, 'mem_free'):\n    gc.mem_free = lambda: 1 << 30\n"
               "import mnnk\nimport mnn\nimport mnnf\nimport mnnj\n")
    proc = subprocess.run(rt.argv + ["-c", prelude + textwrap.dedent(code)], cwd=tmp, env=rt.env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise AssertionError("%s failed:\n%s%s" % (rt.name, proc.stdout, proc.stderr))
    return proc.stdout.splitlines()


class Job:
    """A training job for config `name`: its files in tmp, the arguments fit() takes, and
    lib/micronn's own run of it (fit(epochs)) to compare with."""

    def __init__(self, tmp, name):
        self.cfg = CONFIGS[name]
        self.loss, bs = self.cfg[4], self.cfg[5]
        self.Y = Y1 if self.cfg[0][-1] == 1 else Y2
        self.n, self.k = len(X), self.cfg[0][-1]
        self.net = _net(self.cfg)
        _files(tmp, self.net, tinyprog.Spec.of(self.net, self.loss, bs, self.n), X, self.Y)
        self.bs = bs
        b = self.n if bs is None else bs
        self.fit_args = "0.3, %d, %r, %r" % (b, losses.scale(self.loss, self.k, b),
                                            losses.scale(self.loss, self.k, self.n % b or b))

    def lib(self, epochs):
        ref = _net(self.cfg)
        return ref, ref.fit(X, self.Y, epochs=epochs, lr=0.3, loss=self.loss, batch_size=self.bs)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_program_trains_to_lib_micronns_weights_bit_for_bit(rt, tmp_path, name):
    float64_only(rt)            # (the reference: lib/micronn here, in float64)
    job = Job(tmp_path, name)
    # as the board runs it: the epochs in chunks of fit() calls
    out = _run(rt, tmp_path, """
        mnnj.setup('m.mnn', 0, 1, 'd.dat', %d, %d, %d)
        for k in (1, 6, 23):
            t = mnnj.fit(k, %s)
        mnn.save('out.mnn')
        print(repr(t))
    """ % (job.n, job.k, job.net.rng.state, job.fit_args))
    ref, last = job.lib(30)
    assert micronn.load(str(tmp_path / "out.mnn")).get_weights() == ref.get_weights()
    assert losses.mean(job.loss, float(out[-1]), job.n, job.k) == last


# what the micro:bit's UART object gives the training job: whether a byte has come (any()),
# and the byte (read(1)); here the bytes that came by each of the job's polls
UART = """
class Uart:
    def __init__(self, polls):
        self.polls = polls
    def any(self):
        self.got = self.polls.pop(0)
        return len(self.got)
    def read(self, n):
        return self.got
"""


@pytest.mark.parametrize("name", ["article-f", "softmax-minibatch"])
def test_the_training_job_checkpoints_when_asked_and_keeps_only_the_last_generation(rt, tmp_path, name):
    float64_only(rt)
    job = Job(tmp_path, name)
    (tmp_path / "job.4.mnn").write_bytes(b"the model training starts over")
    # a progress line every 8 epochs; a checkpoint request (any byte but the stop byte) after
    # the second
    lines = _run(rt, tmp_path, UART + textwrap.dedent("""
        mnnj.train('m.mnn', 0, 'd.dat', %d, %d, %d, 30, %s, 8, 'job', 4, Uart([b'', b'C', b'', b'']), b'Z')
    """ % (job.n, job.k, job.net.rng.state, job.fit_args)))
    assert [l.split()[0] for l in lines] == ["E", "E", "S", "E", "E", "S"]
    assert [l.split()[1] for l in lines] == ["8", "16", "5", "24", "30", "6"]
    assert [l.split()[2] for l in lines if l.startswith("S")] == ["16", "30"]
    assert sorted(p.name for p in tmp_path.glob("job.*.mnn")) == ["job.6.mnn"]
    ref, last = job.lib(30)
    assert micronn.load(str(tmp_path / "job.6.mnn")).get_weights() == ref.get_weights()
    total = struct.unpack("<d", ast.literal_eval(lines[-2].split(None, 2)[2]))[0]
    assert losses.mean(job.loss, total, job.n, job.k) == last


def test_the_training_job_stops_with_a_checkpoint_when_the_stop_byte_comes(rt, tmp_path):
    float64_only(rt)
    job = Job(tmp_path, "article-f")
    lines = _run(rt, tmp_path, UART + textwrap.dedent("""
        mnnj.train('m.mnn', 0, 'd.dat', %d, %d, %d, 30, %s, 8, 'job', 0, Uart([b'', b'Z']), b'Z')
        print('returned')
    """ % (job.n, job.k, job.net.rng.state, job.fit_args)))
    assert [l.split()[:2] for l in lines] == [["E", "8"], ["E", "16"], ["S", "1"], ["returned"]]
    ref, last = job.lib(16)
    assert micronn.load(str(tmp_path / "job.1.mnn")).get_weights() == ref.get_weights()
    assert sorted(p.name for p in tmp_path.glob("job.*.mnn")) == ["job.1.mnn"]


@pytest.mark.parametrize("name", ["article-f", "softmax-minibatch"])
def test_the_program_predicts_what_lib_micronn_predicts(rt, tmp_path, name):
    float64_only(rt)
    net = _net(CONFIGS[name], seed=9)
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    lines = _run(rt, tmp_path, """
        mnnj.predict('m.mnn', 0, 'd.dat', %d)
    """ % len(X))
    fmt = "<%d%s" % (net.sizes[-1], net.dtype)
    got = [list(struct.unpack(fmt, ast.literal_eval(line))) for line in lines]
    # the outputs travel as an array of the model's dtype
    want = [list(struct.unpack(fmt, struct.pack(fmt, *row))) for row in net.predict_many(X)]
    assert got == want


def test_save_writes_the_file_lib_micronn_writes(rt, tmp_path):
    net = _net(CONFIGS["two-hidden"])
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    out = _run(rt, tmp_path, """
        mnnj.load('m.mnn', 0)
        print(mnn.save('out.mnn'))
    """)
    assert (tmp_path / "out.mnn").read_bytes() == mnn_bytes(net)
    assert int(out[-1]) == int.from_bytes(mnn_bytes(net)[-4:], "little")


def test_load_refuses_a_model_of_another_architecture(rt, tmp_path):
    net = _net(CONFIGS["article-f"])
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    other = micronn.Network([3, 5, 1], activation="sigmoid", bias=False, seed=1)
    (tmp_path / "other.mnn").write_bytes(mnn_bytes(other))
    out = _run(rt, tmp_path, """
        try:
            mnnj.load('other.mnn', 0)
        except ValueError as e:
            print(e)
    """)
    assert out == ["other.mnn is not a 3-4-1 model"]


def test_load_refuses_before_allocating_when_the_heap_is_short(micropython, tmp_path):
    net = _net(CONFIGS["article-f"])
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    out = _run(micropython, tmp_path, """
        gc.collect()
        free = gc.mem_free()
        try:
            mnnj.setup('m.mnn', free + 1000, 1, 'd.dat', 5, 0, 0)
        except MemoryError as e:
            print(e)
        print([a for a in mnn.S if a is not None])
    """)
    assert out[0].startswith("needs %d bytes of heap, " % (int(out[0].split()[1])))
    assert int(out[0].split()[1]) > int(out[0].split()[-2])
    assert out[1] == "[]"


def test_the_kernels_are_generated_from_lib_micronns_source(tmp_path, monkeypatch):
    lib = tmp_path / "micronn"
    shutil.copytree(libsource.LIB, lib)
    src = (lib / "kernels.py").read_text()
    changed = src.replace("buf[i] = 1.0 / (1.0 + e(-v))", "buf[i] = 0.5 / (1.0 + e(-v))")
    assert changed != src
    (lib / "kernels.py").write_text(changed)
    spec = tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False)
    before = tinyprog.kernels_source(spec)
    monkeypatch.setattr(libsource, "LIB", lib)
    monkeypatch.setattr(libsource, "_trees", {})
    after = tinyprog.kernels_source(spec)
    assert "0.5 / (1.0 + e(-v))" in after and "0.5 / (1.0 + e(-v))" not in before


def test_only_the_models_loss_is_kept():
    sse = tinyprog.kernels_source(tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False, "sse"))
    bce = tinyprog.kernels_source(tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False, "bce"))
    assert "log" not in sse and "'bce'" not in sse
    assert "from math import exp, log" in bce


def test_renaming_refuses_keyword_arguments():
    with pytest.raises(minify.MinifyError, match="keyword"):
        minify.rename(["def f(a):\n    return g(b=a)\n"])


def test_the_header_line_describes_the_program():
    spec = tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False, "sse", False, False, "f")
    mods = tinyprog.build(spec)
    assert [m for m, _ in mods] == ["mnnk", "mnn", "mnnf", "mnnj"]
    version, got, digest = tinyprog.parse_header(mods[-1][1].split("\n", 1)[0])
    assert version == tinyprog.VERSION and got.key() == spec.key() and len(digest) == 12
    assert tinyprog.parse_header("print('hello')") is None
