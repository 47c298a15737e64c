"""The program micronn_host.tiny.program makes for small boards computes what lib/micronn
computes: run on CPython and on the MicroPython unix port, both as generated for the board and
as the real modules it is made from (tiny/board/, unspecialised), it ends at the same weights,
bit for bit, as Network.fit from the same start, for every activation, loss and batch mode."""
import array
import ast
import copy
import io
import shutil
import struct
import subprocess
import textwrap

import pytest

import micronn
from micronn import activations, losses, store
from micronn_host import dataset, libsource
from micronn_host.tiny import minify, specialise
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
# the program as the board gets it, and the real modules it is made from, run as they are
FORMS = ("generated", "modules")


def mnn_bytes(net):
    f = io.BytesIO()
    store.write(f, store.header(net.describe()), net.buffers())
    return f.getvalue()


def _net(cfg, seed=5):
    sizes, hidden, output, bias, loss, bs, dtype = cfg
    return micronn.Network(sizes, activation=hidden, output=output, bias=bias, init="uniform", seed=seed,
                           dtype=dtype)


def _files(tmp, net, spec, X, Y):
    """Both forms of the program for spec in tmp (the generated modules, and the spec module the
    real ones import), the model as m.mnn, and the data as d.dat."""
    for name, src in tinyprog.build(spec):
        (tmp / (name + ".py")).write_text(src)
    (tmp / "spec.py").write_text(tinyprog.spec_source(spec))
    (tmp / "m.mnn").write_bytes(mnn_bytes(net))
    Xf, n = micronn.data.pack(X, net.sizes[0], net.dtype, "X")
    Yf, _ = micronn.data.pack(Y, net.sizes[-1], net.dtype, "Y") if Y else (None, 0)
    # the data file every board gets (MND), here with the network's own float type
    head = dataset.MAGIC + struct.pack("<IHH", n, net.sizes[0], net.sizes[-1] if Y else 0)
    (tmp / "d.dat").write_bytes(head + Xf.tobytes() + (Yf.tobytes() if Y else b""))


IMPORT = {"generated": "import mnnk\nimport mnn\nimport mnnf\nimport mnnj as m\n",
          "modules": "sys.path.insert(1, %r)\nimport job as m\n" % str(tinyprog.BOARD)}


def _run(rt, tmp, code, form="generated"):
    """Run code in tmp under rt with the program's entry module imported as m (the generated
    one, or the real job.py); return its output lines."""
    if rt.board:
        pytest.skip("runs the program from a directory of this computer; on a board: test_microbit_cli")
    prelude = ("import sys\nsys.path.insert(0, '.')\nimport gc\n"
               "if not hasattr(gc, 'mem_free'):\n    gc.mem_free = lambda: 1 << 30\n" + IMPORT[form])
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


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_program_trains_to_lib_micronns_weights_bit_for_bit(rt, tmp_path, name, form):
    job = Job(tmp_path, name)
    # as the board runs it: 30 epochs in chunks of 7 (the last one short), a checkpoint at the end
    out = _run(rt, tmp_path, """
        m.train('m.mnn', 0, 'd.dat', %d, %d, %d, 30, %s, 7, 'job', 0, None, b'Z')
    """ % (job.n, job.k, job.net.rng.state, job.fit_args), form)
    assert [l.split()[:2] for l in out] == [["E", "7"], ["E", "14"], ["E", "21"], ["E", "28"], ["E", "30"],
                                            ["S", "1"]]
    ref, last = job.lib(30)
    # the file lib/micronn writes for its network: the same weights, header and CRC
    assert (tmp_path / "job.1.mnn").read_bytes() == mnn_bytes(ref)
    total = struct.unpack("<d", ast.literal_eval(out[-2].split(None, 2)[2]))[0]
    assert losses.mean(job.loss, total, job.n, job.k) == last


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


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["article-f", "softmax-minibatch"])
def test_the_training_job_checkpoints_when_asked_and_keeps_only_the_last_generation(rt, tmp_path, name, form):
    job = Job(tmp_path, name)
    (tmp_path / "job.4.mnn").write_bytes(b"the model training starts over")
    # a progress line every 8 epochs; a checkpoint request (any byte but the stop byte) after
    # the second
    lines = _run(rt, tmp_path, UART + textwrap.dedent("""
        m.train('m.mnn', 0, 'd.dat', %d, %d, %d, 30, %s, 8, 'job', 4, Uart([b'', b'C', b'', b'']), b'Z')
    """ % (job.n, job.k, job.net.rng.state, job.fit_args)), form)
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
        m.train('m.mnn', 0, 'd.dat', %d, %d, %d, 30, %s, 8, 'job', 0, Uart([b'', b'Z']), b'Z')
        print('returned')
    """ % (job.n, job.k, job.net.rng.state, job.fit_args)))
    assert [l.split()[:2] for l in lines] == [["E", "8"], ["E", "16"], ["S", "1"], ["returned"]]
    ref, last = job.lib(16)
    assert micronn.load(str(tmp_path / "job.1.mnn")).get_weights() == ref.get_weights()
    assert sorted(p.name for p in tmp_path.glob("job.*.mnn")) == ["job.1.mnn"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", ["article-f", "softmax-minibatch"])
def test_the_program_predicts_what_lib_micronn_predicts(rt, tmp_path, name, form):
    net = _net(CONFIGS[name], seed=9)
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    lines = _run(rt, tmp_path, """
        m.predict('m.mnn', 0, 'd.dat', %d)
    """ % len(X), form)
    fmt = "<%d%s" % (net.sizes[-1], net.dtype)
    got = [list(struct.unpack(fmt, ast.literal_eval(line))) for line in lines]
    # the outputs travel as an array of the model's dtype
    want = [list(struct.unpack(fmt, struct.pack(fmt, *row))) for row in net.predict_many(X)]
    assert got == want


DAMAGED = {
    "another-architecture": lambda b: mnn_bytes(micronn.Network([3, 5, 1], activation="sigmoid", bias=False,
                                                                seed=1)),
    "flipped-weight-bit": lambda b: b[:30] + bytes([b[30] ^ 0x10]) + b[31:],
    "cut-short": lambda b: b[:-6],
    "no-crc": lambda b: b[:-4],
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_load_refuses_a_damaged_model_or_one_of_another_architecture(rt, tmp_path, case):
    net = _net(CONFIGS["article-f"])
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    (tmp_path / "bad.mnn").write_bytes(DAMAGED[case](mnn_bytes(net)))
    out = _run(rt, tmp_path, """
        m.predict('m.mnn', 0, None, 0)
        try:
            m.predict('bad.mnn', 0, None, 0)
        except ValueError as e:
            print(e)
    """)
    assert out == ["bad.mnn is damaged or not a 3-4-1 model"]


def test_a_job_is_refused_before_it_allocates_when_the_heap_is_short(micropython, tmp_path):
    net = _net(CONFIGS["article-f"])
    _files(tmp_path, net, tinyprog.Spec.of(net), X, None)
    out = _run(micropython, tmp_path, """
        gc.collect()
        free = gc.mem_free()
        try:
            m.predict('m.mnn', free + 1000, 'd.dat', 5)
        except MemoryError as e:
            print(e)
    """)
    need, free = int(out[0].split()[1]), int(out[0].split()[-2])
    assert out[0] == "needs %d bytes of heap, %d free" % (need, free) and need > free


def test_the_kernels_are_generated_from_lib_micronns_source(tmp_path, monkeypatch):
    lib = tmp_path / "micronn"
    shutil.copytree(libsource.LIB, lib)
    src = (lib / "kernels.py").read_text()
    changed = src.replace("buf[i] = 1.0 / (1.0 + e(-v))", "buf[i] = 0.5 / (1.0 + e(-v))")
    assert changed != src
    (lib / "kernels.py").write_text(changed)
    spec = tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False)
    before = tinyprog.program_source(spec)[0]
    monkeypatch.setattr(libsource, "LIB", lib)
    monkeypatch.setattr(libsource, "_trees", {})
    after = tinyprog.program_source(spec)[0]
    assert "0.5 / (1.0 + e(-v))" in after and "0.5 / (1.0 + e(-v))" not in before


def test_only_the_models_loss_is_kept():
    sse = tinyprog.program_source(tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False, "sse"))[0]
    bce = tinyprog.program_source(tinyprog.Spec([3, 4, 1], ["sigmoid", "sigmoid"], False, "bce"))[0]
    assert "log" not in sse and "'bce'" not in sse
    assert "from math import exp, log" in bce


# -- lib/micronn's side: what the generator may copy (the rules are in lib/micronn/kernels.py) ----

def _a(*v):
    return array.array("d", v)


X3, W6 = [0.5, -1.0, 2.0], _a(0.1, 0.2, -0.3, 0.4, 0.5, -0.6)
# name: calls to run the copy and lib/micronn's function on ([arguments], ...)
COPIED = {
    "dense_forward": [(X3, W6, _a(0.1, -0.2), 1, 3, 2, [0.0, 0.0]), (X3, W6, None, 0, 3, 2, [0.0, 0.0])],
    "dense_backward_sgd": [(X3, W6, _a(0.1, -0.2), 1, 3, 2, [0.3, 0.0], [0.0] * 3, 1, 0.5),
                           (X3, W6, None, 0, 3, 2, [0.3, -0.1], None, 0, 0.5)],
    "dense_backward_acc": [(X3, W6, _a(0, 0, 0, 0, 0, 1), _a(1, 2), 1, 3, 2, [0.3, 0.0], [0.0] * 3, 1),
                           (X3, W6, _a(0, 0, 0, 0, 0, 1), None, 0, 3, 2, [0.3, -0.1], None, 0)],
    "load_row": [(_a(1, 2, 3, 4), 1, [0.0, 0.0], 2)],
    "fill": [(_a(1, 2, 3), 3, 0.5)],
    "_sgd": [(_a(1, 2), _a(0.5, 0.25), 2, 0.1)],
    "_momentum": [(_a(1, 2), _a(0.5, 0.25), _a(0.1, 0.2), 2, 0.1, 0.9)],
    "_adam": [(_a(1, 2), _a(0.5, 0.25), _a(0.1, 0.2), _a(0.3, 0.4), 2, 0.1, 0.9, 0.999, 1e-8)],
    "zeros": [("f", 3), ("d", 300)],
    "crc32": [(b"123456789",), (_a(1.5, -2.0), 12345), (bytes(range(256)) * 2, 0)],
}
for _name in activations.NAMES:
    _f, _b = activations.get(_name)
    COPIED[_f.__name__] = [([0.5, -1.0, 2.0, 0.0], 4)]
    COPIED[_b.__name__] = [([0.3, -0.2, 0.1, 0.4], [0.6, 0.2, 0.1, 0.1], 4)]


def _copy_of(name, known=None):
    """lib/micronn's function name as the program gets it: copied, names shortened, run here."""
    src = libsource.extract([name], known, tinyprog.METHODS)
    space = {}
    exec(minify.rename([src], (name,), libsource.STDLIB + libsource.MATH)[0], space)
    return src, space[name]


def _lib(name):
    from micronn import data, kernels, optim, rng
    return next(getattr(m, name) for m in (kernels, optim, data, store, rng) if hasattr(m, name))


def _same(result):
    return [list(r) if isinstance(r, (array.array, list)) else r for r in result]


@pytest.mark.parametrize("name", sorted(COPIED))
def test_every_function_the_generator_may_copy_extracts_and_computes_what_lib_computes(name):
    _, fn = _copy_of(name)
    for args in COPIED[name]:
        mine, theirs = copy.deepcopy(args), copy.deepcopy(args)
        got, want = fn(*mine), _lib(name)(*theirs)
        assert _same([got] + list(mine)) == _same([want] + list(theirs)), args


@pytest.mark.parametrize("loss", losses.NAMES)
def test_output_delta_is_copied_with_only_the_models_loss(loss):
    src, fn = _copy_of("output_delta", {"loss": loss})
    assert not [other for other in losses.NAMES if other != loss and repr(other) in src]
    y, T = [0.7, 0.2], _a(0.0, 1.0, 1.0, 0.0)
    mine, theirs = [0.0, 0.0], [0.0, 0.0]
    assert fn(loss, y, T, 2, 2, mine, 0.5) == losses.output_delta(loss, y, T, 2, 2, theirs, 0.5)
    assert mine == theirs


def test_the_model_file_is_written_and_read_by_stores_own_code(tmp_path):
    net = _net(CONFIGS["two-hidden"])
    head = store.header(net.describe())
    _, write = _copy_of("write", tinyprog.BOARD_FACTS)
    f = io.BytesIO()
    write(f, head, net.buffers())
    assert f.getvalue() == mnn_bytes(net)
    _, read = _copy_of("read_weights", tinyprog.BOARD_FACTS)
    bufs = [array.array("f", bytes(len(bytes(b)))) for b in net.buffers()]
    f = io.BytesIO(mnn_bytes(net))
    f.read(len(head))
    got = read(f, bufs, store.crc32(head))
    assert got[0] == sum(len(bytes(b)) for b in bufs) and got[1] == got[2] and bufs == net.buffers()
    _, replace = _copy_of("replace")
    (tmp_path / "a.tmp").write_bytes(b"new")
    (tmp_path / "a").write_bytes(b"old")
    replace(str(tmp_path / "a.tmp"), str(tmp_path / "a"))
    assert (tmp_path / "a").read_bytes() == b"new" and not (tmp_path / "a.tmp").exists()


def test_the_generator_copies_only_some_methods_of_random():
    src, Random = _copy_of("Random")
    assert "def __init__" not in src and "def uniform" not in src
    ours, lib = Random(), micronn.rng.Random(7)
    ours.hi, ours.lo = lib.hi, lib.lo           # as model.setup sets it
    a, b = list(range(20)), list(range(20))
    ours.shuffle(a)
    lib.shuffle(b)
    assert a == b and (ours.hi, ours.lo) == (lib.hi, lib.lo)


# -- the generator's side: specialising the real modules -------------------------------------------

def test_the_board_gets_the_real_modules_written_out_for_the_model():
    spec = tinyprog.Spec([3, 4, 4, 1], ["tanh", "relu", "sigmoid"], True, "bce", False, True)
    kernels, model, loops, job = tinyprog.program_source(spec)
    # no spec and no per-layer lists: one name per layer, loops over layers unrolled
    for text in (model, loops, job):
        assert "spec" not in text and "SIZES" not in text and "[l]" not in text and "W[" not in text
    assert "dense_forward(O1, W2, B2, 1, 4, 1, O2)" in loops
    assert "tanh_backward(D0, O0, 4)" in loops and "sigmoid_backward" not in loops     # bce: combined
    assert "Q.shuffle(R)" in loops and "dense_backward_sgd" not in loops
    # store's functions go with the model, the loops' kernels into the kernels module
    assert "def write(" in model and "def read_weights(" in model and "def crc32(" in model
    assert "def dense_forward(" in kernels and "def write(" not in kernels


def _specialise(model, spec="SIZES = (3, 4, 1)\nBIAS = 0\n"):
    """The module model specialised, with f called from outside."""
    return ast.unparse(specialise.program(spec, [("model", model), ("job", "from model import f\n")], ("f",))[0][1])


def test_a_per_layer_list_is_only_indexed_by_a_layer_number_or_passed_whole():
    head = ("from spec import SIZES, BIAS\nL = len(SIZES) - 1\nLAYERED = {'W': L, 'B': L if BIAS else 0}\n"
            "def g(a, b):\n    pass\n")
    good = _specialise(head + "def h(W, B):\n    for l in range(L):\n        g(W[l], B[l])\n    return W, B\n"
                       "def f(m):\n    W, B = m\n    return h(W, B)\n")
    assert "def h(W0, W1):\n    g(W0, None)\n    g(W1, None)\n    return (W0, W1)" in good
    assert "def f(m):\n    W0, W1 = m\n    return h(W0, W1)" in good
    with pytest.raises(specialise.SpecialiseError, match="W: index it by a layer number"):
        _specialise(head + "def f(W):\n    return len(W)\n")
    with pytest.raises(specialise.SpecialiseError, match="W\\[n\\]: a per-layer list is indexed by a layer number"):
        _specialise(head + "def f(W, n):\n    return W[n]\n")
    with pytest.raises(specialise.SpecialiseError, match="this model has no B arrays"):
        _specialise(head + "def f(B):\n    B[0] = 1\n")


def test_constants_are_written_in_and_loops_over_them_unrolled():
    got = _specialise("from spec import SIZES\nL = len(SIZES) - 1\nNAME = 'a much longer name'\nINLINE = ('g',)\n"
                      "def g(x, k):\n    print(x, k)\n"
                      "def f(x):\n    for l in range(L):\n        if SIZES[l + 1] > 1:\n            g(x, SIZES[l])\n"
                      "    return NAME + ' and ' + 'more'\n")
    assert got == ("NAME = 'a much longer name'\n\ndef f(x):\n    print(x, 3)\n    return NAME + ' and more'")


def test_what_unrolling_would_change_is_refused():
    head = "from spec import SIZES\nL = len(SIZES) - 1\n"
    with pytest.raises(specialise.SpecialiseError, match="reads l after the loop that binds it is unrolled"):
        _specialise(head + "def f(x):\n    for l in range(L):\n        x += l\n    return x + l\n")
    with pytest.raises(specialise.SpecialiseError, match="break or continue"):
        _specialise(head + "def f(x):\n    for l in range(L):\n        if x:\n            break\n")
    with pytest.raises(specialise.SpecialiseError, match="a lambda"):
        _specialise(head + "def f(x):\n    return sorted(x, key=lambda L: -L)\n")
    # a display of calls is not copied into each turn of the loop: the loop stays
    assert "for a in (g(), g()):" in _specialise("def g():\n    return 1\ndef f():\n    for a in (g(), g()):"
                                                "\n        print(a, a)\n")


def test_a_function_written_out_where_it_is_called_keeps_its_names_apart_from_the_callers():
    got = _specialise("INLINE = ('g',)\ndef g(a):\n    t = a + 1\n    u = t\n    print(t, u)\n"
                      "def f(a):\n    t = 2\n    g(a)\n    return t\n")
    assert got == "def f(a):\n    t = 2\n    t_g = a + 1\n    u = t_g\n    print(t_g, u)\n    return t"
    with pytest.raises(specialise.SpecialiseError, match="its arguments must be names or constants"):
        _specialise("INLINE = ('g',)\ndef g(a):\n    print(a)\ndef f(a):\n    g(a + 1)\n")


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
