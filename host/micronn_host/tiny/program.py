"""Builds the program a board too small for lib/micronn (the BBC micro:bit) runs for one model.

A micro:bit cannot import lib/micronn: with about 9 KB of heap it cannot even compile
network.py, and every function it holds costs heap.  So the host makes a program per model
from real modules, four modules on the board:

- mnnk: the lib/micronn functions the others call (kernels, the activations' kernels,
  losses.output_delta reduced to the model's loss, optim._sgd, data.zeros, store's crc32,
  write, read_buffers and read_crc, rng.Random), copied out of lib/micronn's source by
  libsource: the arithmetic that runs on the board is lib/micronn's.
- mnn, mnnf, mnnj: board/model.py (a job's arrays, the memory check, the model file),
  board/loops.py (Network.fit and predicting) and board/job.py (the training job and the
  entry points), specialised for the model by specialise.py: its sizes and options written
  in, loops over layers unrolled, what the model does not use dropped.

Those three are ordinary modules: with the spec module spec_source() writes for a model they
run as they are on CPython and MicroPython (tests/test_microbit_program.py runs them both
ways and both end at lib/micronn's weights bit for bit).  Four modules, imported in that
order, because the board compiles each one in its heap, and compiling takes about as much
again as the module; minify then gives every name one or two letters.  For the article's
network the program leaves about 4.6 KB of the board's 9.8 KB for the job.
"""
import ast
import hashlib
from pathlib import Path

from micronn import activations, losses, store

from .. import dataset, libsource
from . import minify, specialise

VERSION = 4
# the program's modules on the board, in the order the host imports them: the kernels, the
# model's arrays, its fit and predict, the training job (four modules because the micro:bit
# compiles each one in its small heap, and the compiler needs about as much again)
KERNELS, MODEL, FIT, JOBS = "mnnk", "mnn", "mnnf", "mnnj"
MODULE = JOBS                       # the one the host imports as m: it has every entry point
# the real modules (in tiny/board/) the last three are made from, in import order
BOARD = Path(__file__).resolve().parent / "board"
SOURCES = (("model", MODEL), ("loops", FIT), ("job", JOBS))
PUBLIC = ("train", "predict")       # what the host calls
# the classes the program copies only some methods of (model.setup sets the generator's state,
# its two 16-bit halves, itself)
METHODS = {"Random": ("randbelow", "shuffle")}
# what lib/micronn's functions are reduced for on every board the program runs on
BOARD_FACTS = {"BIG_ENDIAN": False}


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
    texts = minify.rename(program_source(spec), PUBLIC, libsource.STDLIB + libsource.MATH)
    texts = [_compact(t) for t in texts]
    digest = hashlib.sha1("".join(texts).encode()).hexdigest()[:12]
    head = "# micronn-tiny %d %s %s\n" % (VERSION, spec.key(), digest)
    return [(name, head + t) for name, t in zip((KERNELS, MODEL, FIT, JOBS), texts)]


def program_source(spec):
    """The program's modules for spec before names are shortened: the kernels module, then the
    real modules specialised for spec (see specialise.py)."""
    sources = [(name, (BOARD / (name + ".py")).read_text()) for name, _ in SOURCES]
    modules = specialise.program(spec_source(spec), sources, PUBLIC)
    known = dict(BOARD_FACTS, loss=spec.loss)
    kernels = _kernels(modules, known)
    return [libsource.extract(kernels, known, METHODS)] + [_with_copies(tree, used, kernels, known)
                                                           for _, tree, used in modules]


def _kernels(modules, known):
    """The lib/micronn functions of the kernels module: those the loops call and those more
    than one module calls, with all they use.  The others go into the one module that calls
    them (store's into the model module): the board compiles each module in what the ones
    before it leave, and one module much larger than the others leaves no room for them."""
    needs = {name: libsource.closure(used, known, METHODS) for name, _, used in modules}
    out = list(needs["loops"])
    for name, names in needs.items():
        out += [x for x in names if x not in out and any(x in needs[o] for o in needs if o != name)]
    return out


def _with_copies(tree, used, kernels, known):
    """The text of a specialised module that calls the lib/micronn functions used: those not
    in the kernels module copied in, its imports pointed at the program's modules."""
    own = [x for x in used if x not in kernels]
    copies = ast.parse(libsource.extract(own, known, METHODS, have=kernels)).body if own else []
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    head = []
    for node in imports:
        if isinstance(node, ast.ImportFrom) and node.module == "micronn":
            continue
        if isinstance(node, ast.ImportFrom):
            node.module = dict(SOURCES).get(node.module, node.module)
        head.append(node)
    lib = [x for x in kernels if x in used or x in _reads(copies)]
    if lib:
        head.append(ast.ImportFrom(KERNELS, [ast.alias(x) for x in lib], 0))
    mine = {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    for node in copies:                     # the copies' imports, but not twice
        if isinstance(node, ast.Import):
            node.names = [a for a in node.names if a.name not in mine]
    copies = [n for n in copies if not (isinstance(n, ast.Import) and not n.names)]
    tree.body = head + copies + [n for n in tree.body if n not in imports]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _reads(nodes):
    return {n.id for s in nodes for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def spec_source(spec):
    """The module `spec` the real modules import: what the program is made for."""
    acts = [activations.get(a) for a in spec.acts]
    kernels = sorted({f.__name__ for pair in acts for f in pair})
    return "\n".join([
        '"""What a micro:bit program is made for (written by micronn_host.tiny.program)."""',
        "from micronn.kernels import %s" % ", ".join(kernels),
        "SIZES = %r" % (tuple(spec.sizes),),
        "ACTS = %r                 # the layers' activations" % (tuple(spec.acts),),
        "FORWARD = (%s,)           # their kernels (activations.get)" % ", ".join(f.__name__ for f, _ in acts),
        "BACKWARD = (%s,)" % ", ".join(b.__name__ for _, b in acts),
        "BIAS = %d" % spec.bias,
        "DTYPE = %r" % spec.dtype,
        "HEAD = %r                 # the .mnn header of such models" % spec.header(),
        "LOSS = %r" % spec.loss,
        "COMBINED = %r             # output_delta includes the output activation's derivative"
        % losses.combined(spec.loss),
        "ONLINE = %d               # batch size 1: SGD steps inside backpropagation" % spec.online,
        "SHUFFLE = %d              # mini-batches: the rows shuffled every epoch" % spec.shuffle,
        "DATA = %d                 # bytes of a data file's header (MND)" % dataset.HEAD,
    ]) + "\n"


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
