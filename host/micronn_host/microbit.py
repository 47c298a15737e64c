"""The micronn workflow on a board too small for lib/micronn: the BBC micro:bit (emulated or real).

    board = TinyBoard(RawRepl(port))
    board.info()
    board.train("xor", net, X, Y, epochs=1500, lr=1.0, loss="sse", on_progress=...)
    raw, gen, net = board.fetch("xor")           # checked .mnn bytes, generation, a Network
    board.push("xor", net)
    board.predict("xor", X)

The board runs the program micronn_host.tinyprog generates for the model (lib/micronn's
kernels plus the model's layer calls), installed when the one on the board does not serve the
job.  The host does the rest with raw-REPL commands of at most 62 bytes (see tinyrepl).

The heap decides the order of things.  About 9.8 KB are free after a soft reset; the program
takes about 5 KB; compiling any command, however short, needs about 1.5 KB in one piece.  So:
files are sent and checked (CRC-32 computed on the board) on a fresh heap without the program;
then the board is reset again, imports the program, and runs each job (train, predict) as ONE
command, parsed before the job allocates anything; a soft reset after it frees everything.
A job that would not fit is refused with the numbers before its data is sent.

Models on the board are generation files NAME.<g>.mnn, because the micro:bit has no
os.rename: a checkpoint writes generation g+1, reads it back and checks its CRC on the board,
and only then removes generation g.  The model is the newest generation whose CRC checks, so a
reset or a pulled cable at any moment leaves a whole model on the board.
"""
import ast
import io
import re
import struct
import time

from micronn import data as _data
from micronn import losses, network, store

from . import libsource, tinyprog
from .tinyrepl import MAX_COMMAND, BoardException, BoardReset, ReplError

# Heap a job takes besides its arrays' contents, measured on the emulated micro:bit with
# bench/microbit_memory.py: an array's object and block rounding, and the rest of a running
# job (stack, file objects, the CRC's copy of an array while saving, progress lines).
ARRAY = 32
SPARE = 1000        # bench/microbit_memory.py: the jobs need() allows all ran; it refuses a few that run
FS_BYTES = 15000    # flash the emulated micro:bit's filesystem holds (15104 bytes in one file)
FS_CHUNK = 126      # bytes of file data per 128-byte flash chunk
DATA = "mnn.dat"    # the file that carries training data or inputs to the board
NAME = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
HEX = "H=lambda h:bytes(int(h[i:i+2],16)for i in range(0,len(h),2))"
TINY_HEAP = 32 * 1024   # importing lib/micronn from source alone takes ~30 KB (unix port)


class BoardError(Exception):
    """Something the user must hear about, in one line."""


def need(spec, train, rows, cols):
    """Heap bytes a job takes on the board once the program is imported: the weights (and,
    to train with batches, their gradient sums), rows of cols numbers of data, the layers'
    outputs and deltas, and what the running job needs besides.  data.zeros() briefly holds
    a second copy of the array it makes, so the largest array counts twice.  The board
    refuses the job (MemoryError) when it has less free."""
    item = store.ITEMSIZE[spec.dtype]
    arrays = []
    for l in range(len(spec.sizes) - 1):
        arrays += [spec.sizes[l] * spec.sizes[l + 1]] + ([spec.sizes[l + 1]] if spec.bias else [])
    k = 2 if train and not spec.online else 1
    data = [rows * spec.sizes[0], rows * (cols - spec.sizes[0])]
    total = SPARE + k * sum(ARRAY + n * item for n in arrays) + sum(ARRAY + n * item for n in data)
    total += sum(2 * (ARRAY + 4 * n) for n in spec.sizes[1:]) + ARRAY + 4 * spec.sizes[0]   # outputs, deltas
    if spec.shuffle:
        total += ARRAY + 4 * rows                   # the list of row numbers
    return total + max(arrays + data) * item


def is_tiny(platform, heap_free):
    """Whether a board runs micronn through this module's generated program rather than
    lib/micronn: the micro:bit, or any board with less heap than lib/micronn needs."""
    return platform == "microbit" or heap_free < TINY_HEAP


def mnn_bytes(net):
    """The .mnn file of a network, as bytes."""
    f = io.BytesIO()
    store.write_mnn(net, f)
    return f.getvalue()


def as_float32(net):
    """net itself when its weights are float32, else a float32 copy (what the board holds)."""
    if net.dtype == "f":
        return net
    copy = network.Network(net.sizes, net.activations[:-1], net.activations[-1], net.bias,
                           init=False, dtype="f")
    copy.set_weights(net.get_weights())
    return copy


def _sizes(sizes):
    return "-".join(str(s) for s in sizes)


def _check_name(name):
    if not NAME.match(name or ""):
        raise BoardError("model name %r: use 1 to 24 letters, digits, '_' or '-'" % (name,))


class TinyBoard:
    """micronn jobs on a micro:bit-class board through a raw REPL (tinyrepl.RawRepl or any
    object with its start/follow/exec/soft_reset/interrupt methods and command limit)."""

    def __init__(self, repl):
        self.repl = repl
        self.free = None            # heap after a soft reset with the program imported
        self._helpers = False

    # -- commands ------------------------------------------------------------------------------

    def _x(self, code, **kw):
        try:
            return self.repl.exec(code, **kw)
        except BoardException as e:
            raise BoardError("the board failed: %s" % e)
        except ReplError as e:
            raise BoardError(str(e))

    def _value(self, code):
        return ast.literal_eval(self._x(code).strip())

    def _args(self, *args):
        """Bind a = args on the board, in as many commands as the limit asks."""
        self._x("a=()")
        piece = []
        for a in args:
            if piece and len("a+=(%s,)" % ",".join(piece + [repr(a)])) > MAX_COMMAND:
                self._x("a+=(%s,)" % ",".join(piece))
                piece = []
            piece.append(repr(a))
        if piece:
            self._x("a+=(%s,)" % ",".join(piece))

    def _define(self, src):
        """Run source of any length on the board: sent as pieces of a string, then exec'd."""
        self._x("s=''")
        i = 0
        while i < len(src):
            n = MAX_COMMAND
            while len("s+=%r" % src[i:i + n]) > MAX_COMMAND:
                n -= 1
            self._x("s+=%r" % src[i:i + n])
            i += n
        self._x("exec(s);s=None")

    def fresh(self):
        """Soft-reset the board: a whole, unfragmented heap (and no program imported)."""
        try:
            self.repl.soft_reset()
        except ReplError as e:
            raise BoardError(str(e))
        self._helpers = False
        self._x("import gc,os")

    # -- files ---------------------------------------------------------------------------------

    def files(self):
        """{name: size} of the board's files."""
        return dict(self._value("print([(n,os.size(n))for n in os.listdir()])"))

    def generations(self, name, files=None):
        """Generation numbers of model NAME on the board, newest first."""
        files = self.files() if files is None else files
        gens = [int(m.group(1)) for m in (re.match(r"^%s\.(\d+)\.mnn$" % re.escape(name), f) for f in files) if m]
        return sorted(gens, reverse=True)

    def remove(self, path):
        self._x("try:os.remove(%r)\nexcept OSError:pass" % path)

    def _fs_check(self, adding, files):
        used = sum(-(-(size + len(n) + 2) // FS_CHUNK) * 128 for n, size in files.items())
        want = -(-(adding + 16) // FS_CHUNK) * 128
        if used + want > FS_BYTES * 0.9:
            raise BoardError("the board's filesystem is too full: %d more bytes are needed and %d of about %d "
                             "are used (remove files, e.g. with mpremote rm)" % (want, used, FS_BYTES))

    def put(self, path, data):
        """Write bytes to a board file in hex chunks, then check the board's CRC-32 of it.
        Call after fresh(): the checks need a heap without the program."""
        if not self._helpers:
            self._define(libsource.extract(["crc32"]) + HEX + "\n")
            self._helpers = True
        self._x("f=open(%r,'wb')" % path)
        step = (MAX_COMMAND - len("f.write(H(''))")) // 2
        for i in range(0, len(data), step):
            self._x("f.write(H('%s'))" % data[i:i + step].hex())
        self._x("f.close();f=open(%r,'rb');c=0" % path)
        for i in range(0, len(data), 256):
            self._x("c=crc32(f.read(256),c)")
        got = self._value("print((c,len(f.read())))")
        self._x("f.close()")
        if got != (store.crc32(data), 0):
            self.remove(path)
            raise BoardError("%s arrived damaged on the board (CRC %08x, sent %08x)"
                             % (path, got[0], store.crc32(data)))

    def get(self, path):
        """The bytes of a board file."""
        self._x("f=open(%r,'rb')" % path)
        out = []
        while not out or out[-1]:
            out.append(self._value("print(f.read(48))"))
        self._x("f.close()")
        return b"".join(out)

    # -- the program ---------------------------------------------------------------------------

    def program(self):
        """(version, Spec, digest) of the program on the board, or None."""
        try:
            line = self.repl.exec("print(open('%s.py').readline())" % tinyprog.MODULE)
        except (BoardException, ReplError):
            return None
        return tinyprog.parse_header(line)

    def install(self, spec, training=True):
        """Make sure the board's program serves spec's job (training or only predicting);
        upload the one built for spec otherwise.  Returns [(file, bytes)] of what was sent."""
        self.fresh()
        have = self.program()
        if have and have[0] == tinyprog.VERSION and have[1].serves(spec, training):
            if tinyprog.build(have[1])[-1][1].split("\n", 1)[0].split()[-1] == have[2]:
                return []
        modules = tinyprog.build(spec)
        files = self.files()
        for name, _ in modules:
            if name + ".py" in files:
                self.remove(name + ".py")
                del files[name + ".py"]
        self._fs_check(sum(len(src) for _, src in modules), files)
        for name, src in modules:              # the module the header is read from last
            self.put(name + ".py", src.encode())
        return [(name + ".py", len(src)) for name, src in modules]

    def start(self, spec=None):
        """Soft-reset the board and import the program (built for spec): the job gets the rest
        of the heap, which is returned."""
        self.fresh()
        try:
            # in this order, each on a collected heap: a module compiles in what the ones
            # before it leave, and compiling takes about as much again as the module
            for name in (tinyprog.KERNELS, tinyprog.MODEL, tinyprog.FIT):
                self.repl.exec("gc.collect();import %s" % name)
            self.repl.exec("gc.collect();import %s as m;a=None" % tinyprog.JOBS)
        except BoardException as e:
            if e.kind == "MemoryError":
                what = "the %s model%s" % (_sizes(spec.sizes), " with biases" if spec.bias else "") if spec else "this model"
                raise BoardError("the micronn program for %s does not fit in the board's heap (%s); on a "
                                 "micro:bit, small networks with up to three hidden layers fit" % (what, e))
            raise BoardError("the micronn program on the board does not import (%s); run deploy again" % e)
        except ReplError as e:
            raise BoardError(str(e))
        self.free = int(self._x("gc.collect();print(gc.mem_free())"))
        return self.free

    def _fits(self, what, nbytes):
        if nbytes > self.free:
            raise BoardError("%s needs %d bytes of heap on the board, which has %d free with the "
                             "micronn program loaded" % (what, nbytes, self.free))

    # -- jobs ----------------------------------------------------------------------------------

    def info(self):
        """What the board is and holds: platform, version, heap, files, models, program."""
        self.fresh()
        plat = self._x("import sys;print(sys.platform)").strip()
        version = self._value("print(sys.implementation.version)")
        heap = int(self._x("gc.collect();print(gc.mem_free())"))
        files = self.files()
        models = {}
        for f in files:
            m = re.match(r"^(.+)\.(\d+)\.mnn$", f)
            if m:
                models.setdefault(m.group(1), []).append(int(m.group(2)))
        prog = self.program()
        return {"platform": plat, "version": ".".join(str(v) for v in version), "heap_free": heap,
                "files": files, "models": {k: sorted(v, reverse=True) for k, v in models.items()},
                "program": prog[1].key() if prog else None, "fs_bytes": FS_BYTES}

    def fetch(self, name):
        """(bytes, generation, Network) of the newest generation of NAME whose CRC checks."""
        _check_name(name)
        self.fresh()
        bad = []
        for g in self.generations(name):
            path = "%s.%d.mnn" % (name, g)
            raw = self.get(path)
            try:
                return raw, g, store.read(io.BytesIO(raw), "%s on the board" % path)
            except ValueError as e:
                bad.append(str(e))
        if bad:
            raise BoardError("no valid model %r on the board: %s" % (name, "; ".join(bad)))
        raise BoardError("no model %r on the board" % name)

    def recover(self, name):
        """The newest generation of NAME whose CRC checks; newer, damaged ones (a checkpoint
        cut short by a reset or a Ctrl-C) are removed.  None if there is none."""
        self.fresh()
        for g in self.generations(name):
            path = "%s.%d.mnn" % (name, g)
            try:
                store.read(io.BytesIO(self.get(path)), path)
                return g
            except ValueError:
                self.remove(path)
        return None

    def _kept(self, name):
        """What is left of model NAME after a failed job, in words."""
        try:
            g = self.recover(name)
        except BoardError as e:
            return "the board does not answer (%s)" % e
        return "generation %d, the last checkpoint, is on the board" % g if g else "no checkpoint was saved"

    def push(self, name, net):
        """Make net the newest generation of NAME once the board has loaded it; returns the
        generation.  The older generations are removed only then."""
        _check_name(name)
        net = as_float32(net)
        spec = tinyprog.Spec.of(net)
        self.install(spec, training=False)
        self.start(spec)
        nb = need(spec, False, 0, 0)
        self._fits("the model %s" % _sizes(net.sizes), nb)
        self.fresh()
        files = self.files()
        gens = self.generations(name, files)
        raw = mnn_bytes(net)
        self._fs_check(len(raw), files)
        g = (gens[0] if gens else 0) + 1
        path = "%s.%d.mnn" % (name, g)
        self.put(path, raw)
        try:
            self.start()
            self._x("m.room(%d);m.load(%r,0)" % (nb, path))
        except BoardError:
            self.fresh()
            self.remove(path)
            raise
        self.fresh()
        for old in gens:
            self.remove("%s.%d.mnn" % (name, old))
        return g

    def predict(self, name, X):
        """The model's outputs for each row of X, computed on the board (a list of lists)."""
        raw, g, net = self.fetch(name)
        Xf, n = _data.pack(X, net.sizes[0], "f", "X", "the model has %d inputs" % net.sizes[0])
        have = self.program()
        spec = have[1] if have and have[1].same_model(tinyprog.Spec.of(net)) else tinyprog.Spec.of(net)
        self.install(spec, training=False)
        self.start(spec)
        nb = need(spec, False, n, net.sizes[0])
        self._fits("the model %s with %d rows of inputs" % (_sizes(net.sizes), n), nb)
        self.fresh()
        self._fs_check(len(Xf) * 4, self.files())
        self.put(DATA, Xf.tobytes())
        self.start()
        self._args("%s.%d.mnn" % (name, g), nb, DATA, n)
        out = self._x("m.predict(*a)")
        self.fresh()
        self.remove(DATA)
        k = net.sizes[-1]
        rows = [list(struct.unpack("<%d%s" % (k, spec.dtype), ast.literal_eval(line)))
                for line in out.split("\n") if line.strip()]
        if len(rows) != n:
            raise BoardError("the board returned %d rows of outputs for %d inputs" % (len(rows), n))
        return rows

    def train(self, name, net, X, Y, epochs, lr, loss="mse", batch_size=None, every=None,
              checkpoint_every=None, on_progress=None, on_checkpoint=None):
        """Train net (its current weights are the start) on the board as model NAME, as
        net.fit(X, Y, epochs, lr, loss, batch_size) does with optimizer "sgd".

        on_progress(epoch, loss) every `every` epochs (default: a hundredth of them);
        on_checkpoint(generation, epoch) after each checkpoint (every checkpoint_every epochs,
        default a tenth, and at the end).  Ctrl-C (KeyboardInterrupt) stops the board; its
        last checkpoint stays.  Returns {"epochs", "loss", "generation", "seconds",
        "interrupted"}; net is unchanged: fetch() brings the trained weights."""
        _check_name(name)
        net = as_float32(net)
        n_in, n_out = net.sizes[0], net.sizes[-1]
        Xf, n = _data.pack(X, n_in, "f", "X", "the network has %d inputs" % n_in)
        Yf, ny = _data.pack(Y, n_out, "f", "Y", "the network has %d outputs" % n_out)
        if ny != n:
            raise BoardError("X has %d samples but Y has %d" % (n, ny))
        bs = n if batch_size is None else min(network._positive_int(batch_size, "batch_size", 1), n)
        epochs = network._positive_int(epochs, "epochs", 1)
        every = every or max(1, epochs // 100)
        ck = checkpoint_every or max(1, epochs // 10)
        spec = tinyprog.Spec.of(net, loss, bs, n)
        self.install(spec)
        self.start(spec)
        nb = need(spec, True, n, n_in + n_out)
        self._fits("training the model %s on %d samples" % (_sizes(net.sizes), n), nb)
        self.fresh()
        files = self.files()
        raw = mnn_bytes(net)
        self._fs_check(3 * len(raw) + 4 * (len(Xf) + len(Yf)), files)
        gens = self.generations(name, files)
        gen = (gens[0] if gens else 0) + 1
        path = "%s.%d.mnn" % (name, gen)
        self.put(path, raw)
        for g in gens:
            self.remove("%s.%d.mnn" % (name, g))
        self.put(DATA, Xf.tobytes() + Yf.tobytes())
        self.start()
        self._args(path, nb, DATA, n, n_out, net._rng.state, epochs, lr, bs, losses.scale(loss, n_out, bs),
                   losses.scale(loss, n_out, n % bs or bs), every, ck, name, gen)
        out = {"epochs": 0, "loss": None, "generation": gen, "interrupted": False}

        def line(text):
            p = text.split(None, 2)
            if p[:1] == ["E"]:
                out["epochs"] = int(p[1])
                out["loss"] = network._mean(loss, struct.unpack("<d", ast.literal_eval(p[2]))[0], n, n_out)
                if on_progress:
                    on_progress(out["epochs"], out["loss"])
            elif p[:1] == ["S"]:
                out["generation"] = int(p[1])
                if on_checkpoint:
                    on_checkpoint(int(p[1]), int(p[2]))
            elif p[:1] == ["K"]:
                out["interrupted"] = True

        t0 = time.monotonic()
        try:
            self.repl.start("m.train(*a)")
            try:
                self.repl.follow(timeout=None, idle=600, on_line=line)
            except KeyboardInterrupt:
                self.repl.interrupt()
                self.repl.follow(timeout=None, idle=60, on_line=line)
        except BoardException as e:
            if "diverged" in str(e):
                why = "training diverged at epoch %d: the loss is %s; try a smaller lr than %s" % (
                    out["epochs"], out["loss"], lr)
            else:
                why = "training failed on the board (%s)" % e
            raise BoardError("%s; %s" % (why, self._kept(name)))
        except BoardReset:
            raise BoardError("the board reset during training, after epoch %d; %s" % (out["epochs"], self._kept(name)))
        except ReplError as e:
            raise BoardError("%s; %s" % (e, self._kept(name)))
        if out["interrupted"]:
            out["generation"] = self.recover(name)
        out["seconds"] = time.monotonic() - t0
        self.fresh()
        self.remove(DATA)
        return out
