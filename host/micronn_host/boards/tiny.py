"""micronn on a board too small for lib/micronn: the BBC micro:bit (emulated or real).

boards.connect() returns a TinyBoard when the board has less free heap than lib/micronn needs
(TINY_HEAP), whatever its platform; the commands then drive it as they drive a Board: info, deploy,
train, fetch, push, inputs, predict.  It speaks through the same raw-REPL transport, which
keeps the micro:bit's commands short enough for its receive buffer (transport/rawrepl.py).

The board runs the program tiny/program.py builds for the model (the modules of tiny/board/
written out for it, with lib/micronn's kernels and store functions copied in), installed when
the one on the board does not serve the job.  The heap decides the order of things.  About
9.8 KB are free after a soft reset; the program takes about 5 KB; compiling any command,
however short, needs about 1.5 KB in one piece.  So: files are sent and checked (CRC-32 computed on the board) on a fresh heap without
the program; then the board is reset again, imports the program, and runs each job (train,
predict) as ONE command, parsed before the job allocates anything; a soft reset after it
frees everything.  A job that would not fit is refused with the numbers before its data is
sent: at once when it needs more than the whole free heap, else once the program is imported
and the heap left for the job is known.

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

import micronn
from micronn import data as _data
from micronn import losses, model, network
from micronn.sizes import ITEMSIZE

from .. import dataset
from ..errors import BoardError, BoardReset, MicronnError, TransferError
from ..tiny import program as tinyprog
from ..transport.rawrepl import SHORT
from .base import TINY_HEAP, Board, Capabilities
from .lines import STOP_BYTE, Lines

# Heap a job takes besides its arrays' contents, measured on the emulated micro:bit with
# bench/microbit_memory.py: an array's object and block rounding, and the rest of a running
# job (stack, file objects, the CRC's copy of an array while saving, progress lines).
ARRAY = 32
SPARE = 1000        # bench/microbit_memory.py: the jobs need() allows all ran; it refuses a few that run
FS_BYTES = 15000    # flash the emulated micro:bit's filesystem holds (15104 bytes in one file)
FS_CHUNK = 126      # bytes of file data per 128-byte flash chunk
DATA = "mnn.dat"    # the file that carries training data or inputs to the board
START = "mnn.ini"   # the weights a training job starts from
NAME = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
GENERATION = re.compile(r"^(.+)\.(\d+)\.mnn$")
OPTIMIZERS = ("sgd",)   # what the program trains with (no momentum or Adam state on the board)
# the training options (micronn.job.FIELDS) a job here honours: the network's are made into its
# first weights on this computer, the program runs fit's; check_job refuses any other one that
# is set (validation and early stopping, and options added to lib/micronn later)
TAKES = ("layers", "activation", "output", "bias", "init", "seed", "loss", "epochs", "lr", "batch_size",
         "optimizer", "scale")
CHECKPOINT_BYTE = b"\x1c"  # asks a training job for a checkpoint (the host keeps the clock)
#: by sys.platform: the command that binds `uart` on the board, an object whose any() and
#: read(1) let a training job take a byte from the host without waiting.  The micro:bit's UART
#: object reads the same receive buffer as the REPL.  Other boards get None: Ctrl-C interrupts
#: them, and they save only at the end.
UART = {"microbit": "from microbit import uart"}


def need(spec, train, rows, cols):
    """Heap bytes a job takes on the board once the program is imported: the weights (and,
    to train with batches, their gradient sums), rows of cols numbers of data, the layers'
    outputs and deltas, and what the running job needs besides.  data.zeros() briefly holds
    a second copy of the array it makes, so the largest array counts twice.  The board
    refuses the job (MemoryError) when it has less free."""
    item = ITEMSIZE[spec.dtype]
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


def mnn_bytes(net):
    """The .mnn file of a network, as bytes."""
    return model.to_bytes(net)


def as_float32(net):
    """net itself when its weights are float32 and it carries nothing else, else a float32 copy
    of its weights alone (what the board holds: its program reads version-1 files, without
    names or a training summary).  A model that scales its inputs is refused."""
    if getattr(net, "spec", None):
        from .base import conv_refusal
        raise MicronnError(conv_refusal("the model %s" % "-".join(map(str, net.spec))))
    if net.dtype not in ITEMSIZE:
        raise MicronnError("an int8 model does not run on this board; push the float model it was made from")
    if net.scaler is not None:
        raise MicronnError("this model scales its inputs, which models on this board cannot do; train it "
                           "without --scale (on data scaled beforehand) to run it here")
    if net.dtype == "f" and not net.meta():
        return net
    copy = network.Network(net.sizes, net.activations[:-1], net.activations[-1], net.bias,
                           init=False, dtype="f")
    copy.set_weights(net.get_weights())
    return copy


def _sizes(sizes):
    return "-".join(str(s) for s in sizes)


def _check_name(name):
    if not NAME.match(name or ""):
        raise MicronnError("--model %r: on this board a model name is 1 to 24 letters, digits, '_' or '-'"
                           % (name,))


class TinyBoard(Board):
    """micronn jobs on a micro:bit-class board through a RawRepl that connect() has opened,
    entered and identified (so that it keeps the board's command length limit).  heap: its
    free heap then; fresh: whether that was just after a soft reset."""

    def __init__(self, repl, platform, heap, fresh=False):
        self.repl = repl
        self.port = repl.port
        self.caps = Capabilities(platform, heap, repl.max_command, runs_lib=False, optimizers=OPTIMIZERS,
                                 scales=False, int8=False, renames=False, conv=False, takes=TAKES)
        self.heap = heap if fresh else None     # after a soft reset, without the program
        self.free = None            # after a soft reset with the program imported
        self._models = {}           # name: (bytes, generation, Network) read in this session

    # -- commands ------------------------------------------------------------------------------

    def _x(self, code, **kw):
        """Run code; its output as text.  A board exception is an error naming it."""
        try:
            return self.repl.exec(code, **kw).decode(errors="replace")
        except BoardError as e:
            raise BoardError(e.exc_type, "the board raised %s: %s" % (e.exc_type, e), e.traceback)

    def _value(self, code):
        return ast.literal_eval(self._x(code).strip())

    def _args(self, *args):
        """Bind a = args on the board in commands of the board's length: with the program
        imported, the heap has no room to compile one long command."""
        limit = self.repl.max_command or SHORT
        self._x("a=()")
        piece = []
        for v in map(repr, args):
            if piece and len("a+=(%s,)" % ",".join(piece + [v])) > limit:
                self._x("a+=(%s,)" % ",".join(piece))
                piece = []
            piece.append(v)
        if piece:
            self._x("a+=(%s,)" % ",".join(piece))

    def fresh(self):
        """Soft-reset the board: a whole, unfragmented heap (and no program imported)."""
        self.repl.soft_reset()
        self.heap = int(self._x("import gc,os;gc.collect();print(gc.mem_free())"))
        return self.heap

    # -- files ---------------------------------------------------------------------------------

    def files(self):
        """{name: size} of the board's files."""
        return self.repl.listdir()

    def generations(self, name, files=None):
        """Generation numbers of model NAME on the board, newest first."""
        files = self.files() if files is None else files
        gens = [int(m.group(2)) for m in map(GENERATION.match, files) if m and m.group(1) == name]
        return sorted(gens, reverse=True)

    def remove(self, path):
        self.repl.remove(path)

    def _fs_used(self, files):
        return sum(-(-(size + len(n) + 2) // FS_CHUNK) * 128 for n, size in files.items())

    def _fs_check(self, adding, files):
        used = self._fs_used(files)
        want = -(-(adding + 16) // FS_CHUNK) * 128
        if used + want > FS_BYTES * 0.9:
            raise MicronnError("the board's filesystem is too full: %d more bytes are needed and %d of about %d "
                               "are used (remove files, e.g. with mpremote rm)" % (want, used, FS_BYTES))

    def put(self, path, data):
        """Write bytes to a board file, checked by CRC on the board (transport.files).  Call
        after fresh(): the checks need a heap without the program."""
        self.repl.put(path, data)

    def get(self, path):
        """The bytes of a board file, checked by CRC."""
        return self.repl.get(path)

    # -- the program ---------------------------------------------------------------------------

    def program(self):
        """(version, Spec, digest) of the program on the board, or None."""
        try:
            line = self.repl.exec("print(open('%s.py').readline())" % tinyprog.MODULE).decode()
        except BoardError:
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

    def _install(self, spec, training, out=None):
        sent = self.install(spec, training)
        if sent and out:
            out("sent micronn's program for %s to %s (%d modules, %d bytes)"
                % (_describe(spec), self.port, len(sent), sum(n for _, n in sent)))

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
        except BoardError as e:
            if e.exc_type == "MemoryError":
                what = "the %s model%s" % (_sizes(spec.sizes), " with biases" if spec.bias else "") if spec else "this model"
                raise MicronnError("micronn's program for %s does not fit in the board's heap (%s); on a "
                                   "micro:bit, small networks with up to three hidden layers fit" % (what, e))
            raise MicronnError("micronn's program on the board does not import (%s: %s); run the command again"
                               % (e.exc_type, e))
        self.free = int(self._x("gc.collect();print(gc.mem_free())"))
        return self.free

    def _fits_heap(self, what, nbytes):
        """Refuse, before anything is sent, a job that needs more than the board's whole heap."""
        heap = self.heap if self.heap is not None else self.fresh()
        if nbytes > heap:
            raise MicronnError("%s needs %d bytes of heap on the board, which has %d free in all (and "
                               "micronn's program takes about 5 KB of that)" % (what, nbytes, heap))

    def _fits_program(self, what, nbytes):
        """Refuse, once the program is imported (start()), a job that needs more than is left."""
        if nbytes > self.free:
            raise MicronnError("%s needs %d bytes of heap on the board, which has %d free with micronn's "
                               "program loaded" % (what, nbytes, self.free))

    # -- what the commands ask of a board (as board.Board) -------------------------------------

    def where(self, model):
        """Where model NAME lives on the board, in words."""
        _check_name(model)
        return "%s.<generation>.mnn" % model

    def _path(self, name, gen):
        return "%s.%d.mnn" % (name, gen)

    def info(self):
        """What the board is and holds, with the fields Board.info() has."""
        heap = self.fresh()
        release, version, machine = self._value(
            "import sys;u=os.uname()\nprint((u.release,u.version,u.machine))")
        impl = self._value("print(sys.implementation.version)")
        files = self.files()
        models = []
        for name in sorted(set(m.group(1) for m in map(GENERATION.match, files) if m)):
            entry = {"name": name}
            try:
                raw, g, net = self._read(name)
                entry.update(size=len(raw), generation=g, file=self._path(name, g), layers=net.sizes,
                             activations=net.activations, bias=net.bias, dtype=net.dtype)
            except MicronnError as e:
                entry.update(size=0, error=str(e))
            models.append(entry)
        prog = self.program()
        return {"port": self.port, "tiny": True, "platform": self.caps.platform,
                "version": "%s (%s)" % (".".join(map(str, impl)), version), "release": release,
                "machine": machine, "mpy": 0, "native": False, "free": heap,
                "flash_free": max(0, FS_BYTES - self._fs_used(files)), "micronn": None,
                "program": _describe(prog[1]) if prog else None, "models": models}

    def deploy(self, source=False, native=True, out=print):
        """Check the board and tidy it: lib/micronn does not fit, the other commands send a
        program per model; leftovers of cut-short jobs go."""
        heap = self.fresh()
        files = self.files()
        out("board at %s: a micro:bit-class board (%s), %d bytes of heap free"
            % (self.port, self.repl.platform, heap))
        out("lib/micronn does not fit there (it needs about %d KB of heap), so deploy copies nothing: "
            "`micronn train`, `push` and `predict` send this board a small program made for each model "
            "(about 5 KB) when it does not have the right one" % (TINY_HEAP // 1024))
        if source or not native:
            out("(--source and --no-native do not apply to this board)")
        removed = [f for f in (DATA, START) if f in files]
        for f in removed:
            self.remove(f)
        names = sorted(set(m.group(1) for m in map(GENERATION.match, files) if m))
        kept = []
        for name in names:
            before = set(self.generations(name))
            g = self.recover(name)
            removed += [self._path(name, x) for x in sorted(before - {g})]
            if g:
                kept.append(self._path(name, g))
        if removed:
            out("removed what cut-short jobs left: %s" % ", ".join(removed))
        files = self.files()
        out("flash: about %d of %d bytes used; models: %s" % (self._fs_used(files), FS_BYTES,
                                                              ", ".join(kept) or "none"))
        out("the board is ready")

    def _read(self, name):
        """(bytes, generation, Network) of the newest generation of NAME whose CRC checks."""
        _check_name(name)
        if name in self._models:
            return self._models[name]
        self.fresh()
        files = self.files()
        bad = []
        for g in self.generations(name, files):
            path = self._path(name, g)
            try:
                raw = self.get(path)
                self._models[name] = raw, g, model.read(io.BytesIO(raw), "%s on the board" % path)
                return self._models[name]
            except (ValueError, TransferError) as e:    # a checkpoint cut short reads back damaged
                bad.append(str(e))
        if bad:
            raise MicronnError("no valid model %r on the board: %s" % (name, "; ".join(bad)))
        names = sorted(set(m.group(1) for m in map(GENERATION.match, files) if m))
        raise MicronnError("no model %r on the board (models there: %s)"
                           % (name, ", ".join(names) or "none; train or push one first"))

    def fetch(self, model):
        """(bytes of model NAME's newest generation whose CRC checks, its file)."""
        raw, g, net = self._read(model)
        return raw, self._path(model, g)

    def inputs(self, model):
        return self._read(model)[2].sizes[0]

    def has_model(self, model):
        _check_name(model)
        return bool(self.generations(model))

    def describe(self, model):
        if not self.has_model(model):
            return None
        d = self._read(model)[2].describe()
        d.pop("scaler", None)
        return d

    def recover(self, name):
        """The newest generation of NAME whose CRC checks; the others (older ones, and newer
        damaged ones: a checkpoint cut short by a reset or a Ctrl-C) are removed.  None if
        there is none."""
        self._models.pop(name, None)
        self.fresh()
        good = None
        for g in self.generations(name):
            path = self._path(name, g)
            if good is None:
                try:
                    model.read(io.BytesIO(self.get(path)), path)
                    good = g
                    continue
                except (ValueError, TransferError):
                    pass
            self.remove(path)
        return good

    def push(self, model, data, net):
        """Make net the newest generation of model NAME once the board has loaded it; returns
        its file.  The older generations are removed only then."""
        _check_name(model)
        net = as_float32(net)
        spec = tinyprog.Spec.of(net)
        nb = need(spec, False, 0, 0)
        what = "the model %s" % _sizes(net.sizes)
        self._fits_heap(what, nb)
        self._install(spec, False)
        self.start(spec)
        self._fits_program(what, nb)
        self.fresh()
        files = self.files()
        gens = self.generations(model, files)
        raw = mnn_bytes(net)
        self._fs_check(len(raw), files)
        g = (gens[0] if gens else 0) + 1
        path = self._path(model, g)
        self.put(path, raw)
        try:
            self.start()
            self._x("m.predict(%r,%d,None,0)" % (path, nb))   # on no rows: the model loads whole
        except MicronnError:
            self.fresh()
            self.remove(path)
            raise
        self.fresh()
        for old in gens:
            self.remove(self._path(model, old))
        self._models.pop(model, None)
        return path

    def predict(self, model, X):
        """The model's outputs for each row of X, computed on the board (a list of lists)."""
        raw, g, net = self._read(model)
        Xf, n = _data.pack(X, net.sizes[0], "f", "X", "the model has %d inputs" % net.sizes[0])
        have = self.program()
        spec = have[1] if have and have[1].same_model(tinyprog.Spec.of(net)) else tinyprog.Spec.of(net)
        nb = need(spec, False, n, net.sizes[0])
        what = "the model %s with %d rows of inputs" % (_sizes(net.sizes), n)
        self._fits_heap(what, nb)
        self._install(spec, False)
        self.start(spec)
        self._fits_program(what, nb)
        self.fresh()
        self._fs_check(len(Xf) * 4 + dataset.HEAD, self.files())
        self.put(DATA, dataset.pack(X))
        self.start()
        self._args(self._path(model, g), nb, DATA, n)
        out = self._x("m.predict(*a)")
        self.fresh()
        self.remove(DATA)
        k = net.sizes[-1]
        rows = [list(struct.unpack("<%d%s" % (k, spec.dtype), ast.literal_eval(line.strip())))
                for line in out.split("\n") if line.strip()]
        if len(rows) != n:
            raise MicronnError("the board returned %d rows of outputs for %d inputs" % (len(rows), n))
        return rows

    def train(self, job, X, Y, model, checkpoint_s, ev, out=print):
        """Train job (micronn.job) on the board as model NAME, as Network.fit does with the SGD
        optimizer; ev (train.Progress) hears of the start, the losses and the checkpoints, and
        says how long a stop may take.  Returns what Board.train returns."""
        _check_name(model)
        self.check_job(job)
        fit = job["fit"]
        net = micronn.Network(**job["net"])
        n_in, n_out = net.sizes[0], net.sizes[-1]
        Xf, n = _data.pack(X, n_in, "f", "X", "the network has %d inputs" % n_in)
        Yf, _ = _data.pack(Y, n_out, "f", "Y", "the network has %d outputs" % n_out)
        bs = n if fit["batch_size"] is None else min(fit["batch_size"], n)
        spec = tinyprog.Spec.of(net, fit["loss"], bs, n)
        nb = need(spec, True, n, n_in + n_out)
        what = "training the model %s on %d samples" % (_sizes(net.sizes), n)
        self._fits_heap(what, nb)               # before anything is sent
        self._install(spec, True, out)
        self.start(spec)
        self._fits_program(what, nb)            # before the job allocates anything
        self.fresh()
        files = self.files()
        raw = mnn_bytes(net)
        self._fs_check(3 * len(raw) + 4 * (len(Xf) + len(Yf)) + dataset.HEAD, files)
        gens = self.generations(model, files)
        gen = gens[0] if gens else 0
        self.put(START, raw)
        self.put(DATA, dataset.pack(X, Y))
        out("sent %d samples (%d bytes) to %s:%s" % (n, 4 * (len(Xf) + len(Yf)), self.port, DATA))
        free = self.start() - nb
        uart = UART.get(self.repl.platform)
        self._x(uart or "uart=None")
        self._args(START, nb, DATA, n, n_out, net.rng.state, fit["epochs"], fit["lr"], bs,
                   losses.scale(fit["loss"], n_out, bs), losses.scale(fit["loss"], n_out, n % bs or bs),
                   fit["every"], model, gen, _Name("uart"), STOP_BYTE)
        res = {"epochs": 0, "loss": None, "ms": 0, "model": None, "stopped": False, "interrupted": False,
               "saved": None}
        clock = {"start": time.monotonic()}
        clock["saved"] = clock["start"]
        ev.started(net.n_params, free, uart is not None)
        saving, kept = {}, set()            # generation -> epochs, as the job announces it before writing it

        def on_line(tag, text):
            now = time.monotonic()
            if tag == "E":
                done, loss = text.split(None, 1)
                res["epochs"], res["ms"] = int(done), int(1000 * (now - clock["start"]))
                res["loss"] = losses.mean(fit["loss"], struct.unpack("<d", ast.literal_eval(loss))[0], n, n_out)
                ev.losses([res["loss"]], res["ms"])
                if uart and 0 < checkpoint_s <= now - clock["saved"]:
                    self.repl.write(CHECKPOINT_BYTE)       # saved after the next chunk of epochs
                    clock["saved"] = now
                if saving and max(saving) not in kept:
                    settle(max(saving))                     # the job went on: that checkpoint is whole
            elif tag == "S":
                gen_, epoch = text.split()
                saving[int(gen_)] = int(epoch)

        def settle(g):
            """The board keeps generation g of the model (an older one or None: no checkpoint of this job)."""
            kept.add(g)
            if g in saving:
                res["model"], res["saved"] = self._path(model, g), saving[g]
                ev.checkpoint(res["saved"], res["model"])
            else:
                res["model"] = res["saved"] = None
                ev.checkpoint(None, None)

        lines = Lines(on_line, ("E", "S"))
        try:
            self.repl.exec("m.train(*a)", on_output=lines.feed, timeout=None, interruptible=True,
                           stop_byte=STOP_BYTE, on_stop=ev.stop_wait)
        except BoardError as e:
            lines.end()
            if e.exc_type == "KeyboardInterrupt" and self.repl.interrupted:
                res["stopped"] = res["interrupted"] = True      # Ctrl-C: maybe mid-checkpoint
            elif "diverged" in str(e):
                raise MicronnError("training diverged at epoch %d: the loss is %s; try a smaller lr than %s; %s"
                                   % (res["epochs"], res["loss"], fit["lr"], self._kept(model)))
            else:
                raise MicronnError("training failed on the board (%s: %s); %s" % (e.exc_type, e, self._kept(model)))
        except BoardReset:
            g = self._tidy_after_reset(model)
            if g is not False:
                settle(g)
            raise
        lines.end()
        res["stopped"] = res["stopped"] or res["epochs"] < fit["epochs"]     # the stop byte ended it
        settle(self.recover(model))     # a checkpoint cut short by Ctrl-C goes, and older generations
        self.remove(DATA)
        self.remove(START)
        return res

    def _kept(self, name):
        """What is left of model NAME after a failed job, in words."""
        try:
            g = self.recover(name)
        except MicronnError as e:
            return "the board does not answer (%s)" % e
        return ("%s, the last checkpoint, is on the board" % self._path(name, g) if g
                else "no checkpoint was saved")

    def _tidy_after_reset(self, name):
        """After a reset mid-job: back into the raw REPL, and drop a checkpoint it cut short
        (fetch would skip it anyway).  Returns the generation kept (None: none), or False when the
        board does not answer: best effort, the error to report is the reset."""
        try:
            self.repl.enter()
            return self.recover(name)
        except MicronnError:
            return False


class _Name(str):
    """A name on the board, passed to _args() as itself rather than as a string."""

    def __repr__(self):
        return str(self)


def _describe(spec):
    return "%s %s%s, loss %s" % (_sizes(spec.sizes), ",".join(spec.acts), " with biases" if spec.bias else "",
                                 spec.loss)
