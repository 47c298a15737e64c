"""Builds the program a board too small for lib/micronn (the BBC micro:bit) runs for one model.

A micro:bit cannot import lib/micronn: with about 9 KB of heap it cannot even compile
network.py, and every function it holds costs heap.  So the host generates, per model:

- mnnk.py, the kernels: the functions of lib/micronn the model needs, copied from
  lib/micronn's source with `ast` by libsource (dense_forward, dense_backward_acc or _sgd,
  the activation kernels from activations.get(), losses.output_delta reduced to the model's
  loss, kernels.load_row/fill, optim._sgd, data.zeros, store.crc32, rng.Random).  Nothing
  is rewritten but names: the arithmetic that runs on the board is lib/micronn's.
- mnn.py: the model's arrays (in one list, S, that the other modules share), the memory
  check, reading and writing its .mnn file.
- mnnf.py: fit() and predict(): the calls Network._forward, _backward and fit make for this
  architecture, written out layer by layer (no loops over layers, no per-layer objects).
- mnnj.py: the training job (epochs in chunks of fit(), progress lines, checkpoints), and
  every entry point the host calls.

Four modules, imported in that order, because the board compiles each one in its heap and
compiling takes about as much again as the module; minify then gives every name one or two
letters.  tests/test_microbit_program.py runs the program on CPython and on the MicroPython
unix port: it ends at lib/micronn's weights bit for bit.  For the article's network it takes
about 5.3 KB of the board's 9.8 KB.
"""
import ast
import hashlib

from micronn import activations, losses, store

from .. import libsource
from . import minify

VERSION = 3
# the program's modules on the board, in the order the host imports them: the kernels, the
# model's arrays, its fit and predict, the training job (four modules because the micro:bit
# compiles each one in its small heap, and the compiler needs about as much again)
KERNELS, MODEL, FIT, JOBS = "mnnk", "mnn", "mnnf", "mnnj"
MODULE = JOBS                       # the one the host imports as m: it has every entry point
PUBLIC = ("room", "load", "data", "setup", "fit", "save", "filecrc", "train", "predict", "crc32", "S")
# the classes the program copies only some methods of (the model code sets the generator's state,
# its two 16-bit halves, itself)
METHODS = {"Random": ("randbelow", "shuffle")}


class ProgramError(Exception):
    pass


class Spec:
    """What a program is built for: the architecture (layer sizes, activations, bias, dtype)
    and the training mode (loss, online SGD for batch size 1, shuffling for mini-batches)."""

    def __init__(self, sizes, acts, bias, loss="sse", online=False, shuffle=False, dtype="f"):
        self.sizes, self.acts, self.bias = [int(s) for s in sizes], list(acts), bool(bias)
        if len(self.acts) != len(self.sizes) - 1:
            raise ProgramError("%d activations for %d layers" % (len(self.acts), len(self.sizes) - 1))
        for a in self.acts:
            activations.check(a)
        losses.check(loss, self.acts[-1])
        self.loss, self.online, self.shuffle, self.dtype = loss, bool(online), bool(shuffle), dtype

    @classmethod
    def of(cls, net, loss="sse", batch_size=None, n=None):
        bs = n if batch_size is None else min(batch_size, n or batch_size)
        return cls(net.sizes, net.activations, net.bias, loss, bs == 1, n is not None and bs < n, net.dtype)

    def key(self):
        return "%s;%s;%d;%s;%d;%d;%s" % ("-".join(map(str, self.sizes)), ",".join(self.acts), self.bias,
                                         self.loss, self.online, self.shuffle, self.dtype)

    @classmethod
    def parse(cls, key):
        sizes, acts, bias, loss, online, shuffle, dtype = key.split(";")
        return cls(sizes.split("-"), acts.split(","), bias == "1", loss, online == "1", shuffle == "1", dtype)

    def same_model(self, other):
        return (self.sizes, self.acts, self.bias, self.dtype) == (other.sizes, other.acts, other.bias, other.dtype)

    def serves(self, other, training):
        """Whether a program built for self can run other's job (training or predicting)."""
        return self.same_model(other) and (not training or (self.loss, self.online, self.shuffle)
                                           == (other.loss, other.online, other.shuffle))

    def header(self):
        """The .mnn header of models of this architecture."""
        return store.header({"layers": self.sizes, "activations": self.acts, "bias": self.bias,
                             "dtype": self.dtype})


def build(spec):
    """[(module name, source)] of the program for spec; the host imports the last one.

    Each module starts with the line '# micronn-tiny VERSION KEY DIGEST' (see parse_header)."""
    texts = minify.rename([kernels_source(spec)] + list(model_source(spec)), PUBLIC,
                          libsource.STDLIB + libsource.MATH)
    texts = [_compact(t) for t in texts]
    digest = hashlib.sha1("".join(texts).encode()).hexdigest()[:12]
    head = "# micronn-tiny %d %s %s\n" % (VERSION, spec.key(), digest)
    return [(name, head + t) for name, t in zip((KERNELS, MODEL, FIT, JOBS), texts)]


def kernels_source(spec):
    """mnnk.py: the lib/micronn functions the model code for spec calls, and what they use."""
    names = ["dense_forward", "output_delta", "load_row", "zeros", "crc32"]
    names += ["dense_backward_sgd"] if spec.online else ["dense_backward_acc", "fill", "_sgd"]
    names += ["Random"] if spec.shuffle else []
    for a in sorted(set(spec.acts) - {"linear"}):      # the model code skips linear's no-ops
        names += [f.__name__ for f in activations.get(a)]
    return libsource.extract(names, {"loss": spec.loss}, METHODS)


def model_source(spec):
    """(mnn.py, mnnf.py, mnnj.py) for spec: the model's arrays with loading and saving; its
    fit() and predict() (Network._forward, _backward and fit written out for its layers); the
    training job with its checkpoints."""
    sizes, L = spec.sizes, len(spec.sizes) - 1
    acts = [activations.get(a) for a in spec.acts]
    has_b = 1 if spec.bias else 0
    head = spec.header()
    params = params_in_file_order(spec)                         # W0, B0, W1, B1, ...
    size = {}
    for l in range(L):
        size["W%d" % l], size["B%d" % l] = sizes[l] * sizes[l + 1], sizes[l + 1]
    grads = [] if spec.online else ["G" + p[1:] if p[0] == "W" else "C" + p[1:] for p in params]
    # the layers' outputs and deltas and a row of inputs: lists (reading one does not allocate)
    lists = ["x"] + ["%s%d" % (k, l) for l in range(L) for k in "OD"]
    length = dict([("x", sizes[0])] + [("%s%d" % (k, l), sizes[l + 1]) for l in range(L) for k in "OD"])
    state = params + grads + ["X", "Y", "R", "Q"] + lists
    at = {name: "S[%d]" % i for i, name in enumerate(state)}
    kern = [n.name for n in ast.parse(kernels_source(spec)).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]

    # mnn.py: the arrays live in list S, filled in place so that the other modules see them
    m = []
    out = m.append
    out("import gc, struct")
    out("from %s import %s" % (KERNELS, ", ".join(n for n in ("zeros", "crc32", "Random") if n in kern)))
    out("T = %r" % spec.dtype)
    out("HEAD = %r" % head)
    out("S = [None] * %d    # %s" % (len(state), ", ".join(state)))
    out("def room(need):")                  # the memory check, before anything is allocated
    out("    for i in range(len(S)):")
    out("        S[i] = None")
    out("    gc.collect()")
    out("    if need > gc.mem_free():")
    out("        raise MemoryError('needs %d bytes of heap, %d free' % (need, gc.mem_free()))")
    # load(): the arrays made largest first (they then find room in one piece), then filled
    # from the file in .mnn order: per layer W, then b
    out("def load(p, train):")
    for name in sorted(params, key=lambda n: -size[n]):
        out("    %s = zeros(T, %d)" % (at[name], size[name]))
        if grads:
            g = grads[params.index(name)]
            out("    %s = zeros(T, %d) if train else None" % (at[g], size[name]))
    out("    f = open(p, 'rb')")
    out("    if f.read(%d) != HEAD:" % len(head))
    out("        raise ValueError(p + ' is not a %s model')" % "-".join(map(str, sizes)))
    for name in params:
        out("    f.readinto(%s)" % at[name])
    out("    f.close()")
    out("def data(p, n, k, state):")        # rows of inputs (and targets): an MND file
    out("    f = open(p, 'rb')")
    out("    f.read(%d)" % 12)                  # its header (the host checked it)
    out("    %s = zeros(T, n * %d)" % (at["X"], sizes[0]))
    out("    f.readinto(%s)" % at["X"])
    out("    %s = zeros(T, n * k)" % at["Y"])
    out("    f.readinto(%s)" % at["Y"])
    out("    f.close()")
    if spec.shuffle:
        out("    %s = list(range(n))" % at["R"])
        out("    %s = Random()" % at["Q"])
        out("    %s.hi = state >> 16" % at["Q"])
        out("    %s.lo = state & 0xFFFF" % at["Q"])
    else:
        out("    %s = range(n)" % at["R"])   # rows in order: no list to hold
    out("def setup(p, need, train, dp, n, k, state):")   # the larger first
    out("    room(need)")
    for name in lists:
        out("    %s = [0.0] * %d" % (at[name], length[name]))
    out("    if n * %d >= %d:" % (sizes[0], max(size.values())))
    out("        data(dp, n, k, state)")
    out("        load(p, train)")
    out("    else:")
    out("        load(p, train)")
    out("        data(dp, n, k, state)")
    out("def save(p):")
    out("    f = open(p, 'wb')")
    out("    f.write(HEAD)")
    out("    c = crc32(HEAD)")
    out("    for a in (%s,):" % ", ".join(at[n] for n in params))
    out("        f.write(a)")
    out("        for i in range(0, len(a), 16):")        # small copies for the CRC, not one big
    out("            c = crc32(a[i:i + 16], c)")
    out("    f.write(struct.pack('<I', c))")
    out("    f.close()")
    out("    return c")

    # mnnf.py: fit() and predict()
    f = []
    out = f.append
    out("from %s import %s" % (KERNELS, ", ".join(n for n in kern if n not in ("crc32", "Random"))))
    out("from %s import S, T, setup" % MODEL)

    def forward(indent):                    # Network._forward on x
        inp = "x"
        for l in range(L):
            out("%sdense_forward(%s, W%d, %s, %d, %d, %d, O%d)" % (indent, inp, l, "B%d" % l if spec.bias else "None",
                                                                 has_b, sizes[l], sizes[l + 1], l))
            if spec.acts[l] != "linear":    # lib's linear kernels do nothing
                out("%s%s(O%d, %d)" % (indent, acts[l][0].__name__, l, sizes[l + 1]))
            inp = "O%d" % l

    top = L - 1
    out("def fit(epochs, lr, bs, s1, s2):")
    out("    %s = S" % ", ".join(state))
    out("    n = len(R)")
    out("    t = 0.0")
    out("    for e in range(epochs):")
    if spec.shuffle:
        out("        Q.shuffle(R)")
    out("        t = 0.0")
    out("        for a in range(0, n, bs):")
    out("            b = min(a + bs, n)")
    for g in grads:
        out("            fill(%s, len(%s), 0.0)" % (g, g))
    out("            s = s1 if b - a == bs else s2")
    if grads:
        out("            u = 0.0")         # per batch, then into the epoch's total, as in fit()
    out("            for p in range(a, b):")
    out("                i = R[p]")
    out("                load_row(X, i * %d, x, %d)" % (sizes[0], sizes[0]))
    forward("                ")
    out("                %s += output_delta(%r, O%d, Y, i * %d, %d, D%d, s)"
        % ("u" if grads else "t", spec.loss, top, sizes[-1], sizes[-1], top))
    if not losses.combined(spec.loss) and spec.acts[top] != "linear":
        out("                %s(D%d, O%d, %d)" % (acts[top][1].__name__, top, top, sizes[-1]))
    for l in range(L - 1, -1, -1):
        inp = "O%d" % (l - 1) if l else "x"
        dprev = "D%d" % (l - 1) if l else "None"
        if spec.online:
            out("                dense_backward_sgd(%s, W%d, %s, %d, %d, %d, D%d, %s, %d, lr)"
                % (inp, l, "B%d" % l if spec.bias else "None", has_b, sizes[l], sizes[l + 1], l, dprev, 1 if l else 0))
        else:
            out("                dense_backward_acc(%s, W%d, G%d, %s, %d, %d, %d, D%d, %s, %d)"
                % (inp, l, l, "C%d" % l if spec.bias else "None", has_b, sizes[l], sizes[l + 1], l, dprev, 1 if l else 0))
        if l and spec.acts[l - 1] != "linear":
            out("                %s(D%d, O%d, %d)" % (acts[l - 1][1].__name__, l - 1, l - 1, sizes[l]))
    if grads:
        out("            t += u")
        for name, g in zip(params, grads):
            out("            _sgd(%s, %s, %d, lr)" % (name, g, size[name]))
    out("    return t")
    out("def predict(p, need, dp, n):")
    out("    setup(p, need, 0, dp, n, 0, 0)")
    out("    %s = S" % ", ".join(state))
    out("    y = zeros(T, %d)" % sizes[-1])
    out("    for i in R:")
    out("        load_row(X, i * %d, x, %d)" % (sizes[0], sizes[0]))
    forward("        ")
    out("        load_row(O%d, 0, y, %d)" % (top, sizes[-1]))
    out("        print(bytes(y))")

    # mnnj.py: the training job, with its checkpoints
    j = []
    job = j.append
    job("import os, struct")
    job("from %s import crc32" % KERNELS)
    job("from %s import room, load, setup, save" % MODEL)    # the host calls them all through mnnj
    job("from %s import fit, predict" % FIT)
    job("def filecrc(p):")              # CRC-32 of a .mnn file without its own last 4 bytes
    job("    f = open(p, 'rb')")
    job("    c, last = 0, b''")
    job("    while True:")
    job("        b = f.read(64)")
    job("        if not b:")
    job("            break")
    job("        b = last + b")
    job("        c, last = crc32(b[:-4], c), b[-4:]")
    job("    f.close()")
    job("    return c if struct.unpack('<I', last)[0] == c else -1")
    # the jobs: one command each, so that the board parses no command while they hold memory.
    # train: epochs in chunks of `every`, a progress line "E epochs loss" after each; then a
    # byte the host sent, if any, read from `uart` (the micro:bit's UART object, or None): a
    # checkpoint when it is one, the end of training with a checkpoint when it is `stop`; a
    # checkpoint at the end too.  A checkpoint writes generation gen + 1, reads it back, removes
    # generation gen and says "S generation epochs".  The host keeps the clock and tells a stop
    # or a Ctrl-C from how the job ended: every name and line of the program costs heap.
    job("def train(p, need, dp, n, k, state, epochs, lr, bs, s1, s2, every, name, gen, uart, stop):")
    job("    setup(p, need, 1, dp, n, k, state)")
    job("    done = 0")
    job("    while done < epochs:")
    job("        e = min(every, epochs - done)")
    job("        t = fit(e, lr, bs, s1, s2)")
    job("        done += e")
    job("        print('E', done, struct.pack('<d', t))")
    job("        if t - t != 0.0:")             # inf or nan: stop as Network.fit does
    job("            raise ValueError('diverged')")
    job("        q = uart and uart.any() and uart.read(1)")
    job("        if q or done == epochs:")
    job("            c = '%s.%d.mnn' % (name, gen + 1)")
    job("            if save(c) != filecrc(c):")
    job("                raise OSError(c + ' does not read back')")
    job("            gen += 1")
    job("            try:")
    job("                os.remove('%s.%d.mnn' % (name, gen - 1))")
    job("            except OSError:")
    job("                pass")
    job("            print('S', gen, done)")
    job("        if q == stop:")
    job("            return")
    return "\n".join(m) + "\n", "\n".join(f) + "\n", "\n".join(j) + "\n"


def params_in_file_order(spec):
    """Names of the model code's weight arrays in .mnn order: per layer W, then b."""
    out = []
    for l in range(len(spec.sizes) - 1):
        out += ["W%d" % l] + (["B%d" % l] if spec.bias else [])
    return out


def parse_header(line):
    """(version, Spec, digest) from a program module's first line, or None."""
    p = line.strip().split()
    if len(p) != 5 or p[:2] != ["#", "micronn-tiny"]:
        return None
    try:
        return int(p[2]), Spec.parse(p[3]), p[4]
    except (ValueError, ProgramError):
        return None


def _compact(src):
    """One space per indentation level instead of four: a third less to send and to store in
    the board's ~15 KB of flash; checked to parse to the same tree."""
    out = []
    for line in src.splitlines():
        body = line.lstrip(" ")
        out.append(" " * ((len(line) - len(body)) // 4) + body)
    text = "\n".join(out) + "\n"
    if ast.dump(ast.parse(text)) != ast.dump(ast.parse(src)):
        raise ProgramError("compacting the indentation changed the program")
    return text
