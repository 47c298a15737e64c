"""micronn's on-board agent, driven by the `micronn` command over the raw REPL.

Each host command is one call, e.g. `import mnn_agent as A; A.info()`.  Results and progress go
out as lines starting with "@" (the host ignores the rest); failures are ordinary exceptions,
whose traceback the host turns into a one-line message.  micronn is imported only by the calls
that need it, and every call checks free memory against what it will allocate first.

Lines: "@R <json>" result, "@S <json>" what a long call is about to do, "@L <ms> <base64
float32 losses>" training progress, "@V <ms> <base64 float32 triples>" the validation loss,
training accuracy and validation accuracy of the same points (nan where not measured; sent just
before their "@L" when the run measures them), "@C <epoch>" checkpoint written, "@O <json>"
outputs, "@D <ms> <values>" a recorded row.
Files come and go through the host's transport (put and get), not through the agent.  The calls
that stream rows (predict, evaluate, record) are in mnn_rows, and those that look after the
board's files (info, clean, install, describe) in mnn_admin, so that a training job does not
hold their code in the heap.

Every epoch: train() runs fit() with its callback after every epoch (every=1); the callback
reports the losses every `every` epochs as the job says (so the loss history has the same
points), but looks at the clock and polls for the stop byte after each epoch, so a checkpoint
is at most one epoch later than asked and a stop comes at the end of the current epoch.

Stopping: while train() runs, the host asks it to stop by sending the byte given as `stop`
(the raw REPL passes bytes other than Ctrl-C to stdin while code runs); the callback polls for
it between epochs, so the model saved is the model after a whole number of epochs.  A Ctrl-C
(KeyboardInterrupt) can land in the middle of a weight update, so then nothing is saved and
the last checkpoint stays.  Firmware that does not turn a Ctrl-C from the host into
KeyboardInterrupt (MicroPython's QEMU port polls its UART) hands it to stdin like any byte:
the job takes it for a stop request.
"""
import gc
import json
import os
import sys
import time

VERSION = 4
FLOAT = 32              # bytes a boxed float may take (16 on ESP32/RP2040, 32 on 64-bit unix)
MARGIN = 3072           # working room for the interpreter during a call
COLLECT_EVERY = 4096    # bytes allocated between two garbage collections while a call sets up
STORE_CODE = 14400      # what importing micronn.store (to save a model) takes: 14.1 KB as .mpy on the
                        # 64-bit unix port (with its sections: scaling, names, layer specs), less on a
                        # 32-bit board
SAVE_WORK = 2560        # what saving a model builds besides its inputs' part (its header, and the copies
SAVE_PER_INPUT = 40     # of each input's scaling and name it joins): 5 KB with 64 inputs, 8.4 KB with 150


def _result(obj):
    """The result line, written piece by piece (json.dump to the stream): a large result (info
    on a board full of files) needs no string of its size in the heap.  It starts on a line of
    its own even when a Ctrl-C cut the line before it short."""
    sys.stdout.write("\n@R ")
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


def _line(text):
    """A progress line in one write: the unix port (the virtual boards) raises KeyboardInterrupt
    wherever the code is, between the pieces print() writes one at a time too, and a line cut
    there ("@C" without its epoch) would reach the host as a whole one after the newline the
    interrupted job writes."""
    sys.stdout.write(text + "\n")


def _makedirs(path):
    """Create the directories above a file path."""
    cur = ""
    for part in path.split("/")[1:-1]:
        cur += "/" + part
        try:
            os.mkdir(cur)
        except OSError:
            pass


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def _free():
    gc.collect()
    return gc.mem_free() if hasattr(gc, "mem_free") else -1


def _largest(limit):
    """The largest block (bytes, to 64) the heap can give now, up to `limit`: found by trial
    allocations, each let go at once (MicroPython says the free heap, not how it is cut up)."""
    lo, hi = 0, limit + 1
    while hi - lo > 64:
        mid = (lo + hi) // 2
        gc.collect()
        try:
            b = bytearray(mid)
        except MemoryError:
            hi = mid
            continue
        b = None
        lo = mid
    gc.collect()
    return lo


def _fits(pieces):
    """Whether blocks of these sizes (bytes) can all be had at once now: a trial allocation of
    each, largest first, all let go again."""
    held = [None] * len(pieces)
    try:
        for i, p in enumerate(sorted(pieces, reverse=True)):
            held[i] = bytearray(p)
        return True
    except MemoryError:
        return False
    finally:
        held = None
        gc.collect()


# What the current call needs: [what, bytes, largest block]; set by _need, read when a
# MemoryError ends the call (_guard).
_NEEDS = [None, 0, 0]
# One block set aside (_reserve) before a call reads a model's header or the whole data, and let
# go just before the arrays that stay are made (_need): the small objects those leave behind
# would otherwise sit in the one large free block left after micronn is imported, and a
# layer's weights need a block of their own.
_HELD = [None]


def _reserve(nbytes):
    """Set aside a block of nbytes (plus room for the small objects that come with the arrays)
    for the arrays _need will check; nothing when the heap cannot give it."""
    _HELD[0] = None
    if nbytes > 0:
        gc.collect()
        try:
            _HELD[0] = bytearray(nbytes + nbytes // 8 + 512)
        except MemoryError:
            pass


def _release():
    _HELD[0] = None
    gc.collect()


class _Short(MemoryError):
    """The check's own refusal: its message already says everything."""


def _say(need, piece, free, big):
    return ("needs about %d bytes of heap%s; the board has %d bytes free, the largest free block %d bytes"
            % (need, ", %d of them in one block" % piece if piece else "", free, big))


def _need(what, need, pieces=()):
    """Refuse (MemoryError with the numbers) unless `need` bytes in all are free and blocks of
    the sizes in `pieces` (the arrays that stay: each must be one block) can be had at once;
    the numbers stay for the message of a MemoryError later in the call."""
    piece = max(pieces) if pieces else 0
    _NEEDS[0], _NEEDS[1], _NEEDS[2] = what, need, piece
    _release()
    if not hasattr(gc, "mem_free"):     # CPython: no heap of its own to count
        return
    free = _free()
    if need <= free and _fits(pieces):
        return
    raise _Short("%s %s" % (what, _say(need, piece, free, _largest(free))))


def _failed(e):
    """The one-line MemoryError for one a call raised: the check's refusal as it is, else what
    the call needed (when it has said), the heap as the call leaves it, and the allocation
    that failed."""
    if isinstance(e, _Short):
        return MemoryError(e.args[0])
    text = str(e.args[0]) if e.args else ""
    size = "an allocation"
    if "allocating" in text:        # MicroPython: "memory allocation failed, allocating 14400 bytes"
        size = "an allocation of %s bytes" % text.split("allocating")[1].split()[0]
    free = _free()
    big = _largest(free) if free >= 0 else -1
    what, need, piece = _NEEDS
    if what is None:
        return MemoryError("%s failed; the board has %d bytes free, the largest free block %d bytes"
                           % (size, free, big))
    return MemoryError("%s %s; %s failed on the way" % (what, _say(need, piece, free, big), size))


def _collect_often(on):
    """Collect the garbage every COLLECT_EVERY bytes allocated (on), or only when the heap is
    full (MicroPython's default).  While a call imports micronn and reads headers and data, a
    collection that comes only when the heap is full leaves the long-lived objects spread over
    the whole heap (the import's and the reading's garbage in between): on a virtual ESP32 of
    110 KB of 64-bit heap the largest free block after micronn was imported was then 1.5 KB,
    against 26 KB when garbage was collected every few KB.  Training runs with the default."""
    try:
        gc.threshold(COLLECT_EVERY if on else -1)
    except AttributeError:      # a port without gc.threshold
        pass


def _guard(call, args):
    """call(*args), with any MemoryError turned into one line that says what was needed and
    what the heap has (_failed)."""
    _NEEDS[0] = None
    _collect_often(True)
    try:
        return call(*args)
    except MemoryError as e:
        err = e
    finally:
        _HELD[0] = None
        _collect_often(False)
    gc.collect()                # the call's frames are gone: its arrays are garbage now
    raise _failed(err)


# -- commands ------------------------------------------------------------------------------------

def _listing(path):
    d = path[:path.rfind("/")] or "/"
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return " (there is no %s directory)" % d
    return " (%s holds: %s)" % (d, ", ".join(names) or "nothing")


def _pieces(sizes, bias, dtype, copies=1):
    """The sizes (bytes) of a model's buffers (sizes.layout), `copies` times over."""
    from micronn.sizes import ITEMBYTES, layout
    return [ITEMBYTES[tc] * n for tc, n in layout(sizes, bias, dtype)] * copies


def load_model(path):
    """Load a model after checking that it fits in the heap."""
    from micronn import model, store
    if _size(path) < 0:
        raise ValueError("no model %s on the board%s" % (path, _listing(path)))
    _reserve(_size(path))       # for its arrays (the file is a little larger), while its header is read
    with open(path, "rb") as f:
        info = store.describe(f, path)
    what = "the model %s (%d parameters)" % (path, info["n_params"])
    need = info["nbytes"] + 2 * FLOAT * sum(info["layers"]) + MARGIN
    pieces = _pieces(info.get("spec") or info["layers"], info["bias"], info["dtype"])  # a CNN: its filters
    info = None                 # its names and scaling: they would sit in the free blocks the model needs
    _need(what, need, pieces)
    return model.load(path)


def _data(path, n_in=None, n_out=None):
    """A data file on the flash (micronn.datafile.DataFile: its rows are read as they are asked
    for, into buffers allocated once), checked against a network of n_in inputs and n_out outputs
    when given."""
    from micronn.datafile import DataFile
    try:
        d = DataFile(path)
    except ValueError as e:
        raise ValueError("%s (on the board)" % e)
    if n_in is not None:
        try:
            d.check(n_in, n_out)
        except BaseException:
            d.close()
            raise
    return d


class _StopRequest:
    """Whether the host has sent the stop byte, polled on stdin without blocking.  Firmware
    whose stdin cannot be polled (no select module, or a port without stdio polling) never
    sees it; the host then falls back to Ctrl-C."""

    def __init__(self, byte):
        self.byte = byte
        self.stdin = getattr(sys.stdin, "buffer", sys.stdin)
        self.poller = None
        if byte:
            try:
                import select
                p = select.poll()
                p.register(sys.stdin, select.POLLIN)
                p.poll(0)
                self.poller = p
            except Exception:   # ImportError, OSError, TypeError...: nothing to poll
                pass

    def seen(self):
        while self.poller is not None and self.poller.poll(0):
            c = self.stdin.read(1)
            if c == self.byte or c == b"\x03":     # Ctrl-C that did not raise KeyboardInterrupt
                return True
            if not c:
                return False
        return False


class _Progress:
    """The Trainer's report and tick (runner.Trainer), called after every epoch: streams the loss
    (and the scores) of every `every`-th epoch and the last in batches, checkpoints when
    `save_ms` milliseconds have passed since the last one, and stops training (returns False)
    when the host asks."""

    def __init__(self, path, epochs, save_ms, stop, scores):
        import array
        from binascii import b2a_base64
        self.b64 = b2a_base64   # imported once: each import looks for a file of its name first
        self.buf = array.array("f", bytearray(4 * 32))
        self.sbuf = array.array("f", bytearray(4 * 96)) if scores else None
        self.k = 0
        self.path, self.epochs, self.save_ms = path, epochs, save_ms
        self.trainer = None
        self.epoch = 0
        self.loss = None
        self.saved_epoch = None
        self.stop = _StopRequest(stop)
        self.stopped = False
        self.t0 = self.shown = self.saved = time.ticks_ms()

    def report(self, epoch, loss, scores):
        self.buf[self.k] = loss
        if self.sbuf is not None:
            nan = float("nan")
            for i, name in enumerate(("val_loss", "accuracy", "val_accuracy")):
                v = scores.get(name)
                self.sbuf[3 * self.k + i] = nan if v is None else v
        self.k += 1
        if self.k == len(self.buf):
            self.flush()

    def tick(self, epoch):
        self.epoch = epoch
        self.loss = self.trainer.last_loss
        now = time.ticks_ms()
        if self.k and (epoch == self.epochs or time.ticks_diff(now, self.shown) >= 250):
            self.flush()
        if self.save_ms and time.ticks_diff(now, self.saved) >= self.save_ms:
            self.checkpoint()
        if self.stop.seen():
            self.stopped = True
            return False

    def flush(self):
        b2a_base64 = self.b64
        if self.k:
            ms = time.ticks_diff(time.ticks_ms(), self.t0)
            if self.sbuf is not None:
                _line("@V %d %s" % (ms, b2a_base64(memoryview(self.sbuf)[:3 * self.k]).decode().strip()))
            _line("@L %d %s" % (ms, b2a_base64(memoryview(self.buf)[:self.k]).decode().strip()))
            self.k = 0
        self.shown = time.ticks_ms()

    def checkpoint(self):
        self.saved = time.ticks_ms()
        _collect_often(True)    # importing the file code (the first time) leaves less garbage in between
        try:
            self.trainer.save(self.path)
        except MemoryError:     # the file code does not fit beside the training: the model is saved at the end
            _line("@W no checkpoint at epoch %d: not enough heap beside the training (the model is saved "
                  "at the end)" % self.epoch)
            self.save_ms = 0
            return
        finally:
            _collect_often(False)
        self.saved_epoch = self.epoch
        _line("@C %d" % self.epoch)


def _exists(path):
    return _size(path) >= 0 or _size(path + ".tmp") >= 0


def train(data, model, job, save_s=30, stop=None, val=None, meta=None, resume=False, replace=False):
    """Train a job (micronn.job: {"net": Network's arguments, "fit": fit's, "run": the
    Trainer's}) on a data file (and hold-out rows in the data file val); checkpoint to
    /models/<model>.mnn as it goes (the best weights so far, with hold-out rows); stop between
    epochs when the byte `stop` arrives on stdin.  meta: what the new model carries (classes,
    inputs, targets).  resume: continue the model of that name (its weights, scaling, classes)
    instead of a new one; else an existing model of that name is replaced only when `replace`.

    The rows stay in the files: training reads them as it goes (micronn.datafile), so the
    heap holds the network, its training state, the shuffled order of the rows (2 bytes a row)
    and two buffers of rows per file, and the data may be as large as the flash."""
    return _guard(_train, (data, model, job, save_s, stop, val, meta, resume, replace))


def _inputs(first):
    """The inputs of a row from a job's first layer: a size, or "50x3" (length x channels)."""
    if type(first) is int:
        return first
    if type(first) is str:
        a, b = first.lower().split("x")
        return int(a) * int(b)
    return first[0] * first[1]


def _arrays(params, fit, val, weights=True):
    """Bytes of the arrays a training job keeps: the weights (unless not `weights`: a resumed
    model's are loaded), the gradient sums and optimizer moments (none for online SGD, one, two
    or three copies of the weights), the best weights with hold-out rows.  Counted as
    micronn.sizes does: this sizes the block set aside while the data is checked (_reserve);
    the check itself uses micronn.sizes."""
    w = params
    opt = fit["optimizer"]
    state = 0 if opt == "sgd" and fit["batch_size"] == 1 else ("sgd", "momentum", "adam").index(opt) + 1
    return 4 * w * ((1 if weights else 0) + state + (1 if val else 0))


def _setup(layers, fit):
    """(inputs, outputs, each layer's width, heap bytes a unit of a layer keeps) of a job's
    network, with the code its training imports loaded (it stays in the heap from now on)."""
    import micronn
    n_in, n_out = _inputs(layers[0]), layers[-1]
    widths = layers
    per = 2 * FLOAT                 # each layer's outputs and deltas: lists of floats
    if n_in != layers[0]:           # layer specs with convolutions: the width of each layer's outputs
        from micronn.shapes import widths
        from micronn import conv    # noqa: F401  (the network's layers are made by it)
        widths = widths(layers)
        if micronn.kernels.VIPER:   # float32 arrays on the integer path (the float path makes lists)
            per = 16                # their outputs and deltas, the engine's scratch and the
                                    # convolutions' windows: 17 B a unit measured for
                                    # 50x3-conv8k5-maxpool2-16-3 on the 64-bit unix port
    if not (fit["optimizer"] == "sgd" and fit["batch_size"] == 1):
        from micronn import optim   # noqa: F401  (fit() imports it)
    return n_in, n_out, widths, per


def check_training(job, n, nv):
    """Refuse (the MemoryError _need raises) a training job of n rows (and nv hold-out rows)
    that cannot fit in the heap, before its data is sent: the host asks this first when the
    data takes a while to send.  The heap is as train() has it when it checks, the rows'
    buffers stood in for by blocks of their size; train() checks again with the data there."""
    _guard(_check_training, (job, n, nv))


def _check_training(job, n, nv):
    from micronn import exact
    from micronn.datafile import nbytes
    layers, fit = job["net"]["layers"], job["fit"]
    n_in, n_out, widths, per = _setup(layers, fit)
    held = [bytearray(nbytes(n_in, n_out)) for _ in range(2 if nv else 1)]
    exact.table()
    what, need, pieces = _plan(layers, job["net"]["bias"], fit, widths, per, n, nv, False)
    _need(what, need, pieces)
    del held
    _result({"fits": True})


def _plan(layers, bias, fit, widths, per, n, nv, resume):
    """(what, bytes, the blocks of the arrays that stay) of a training job of n rows (and nv
    hold-out rows), for _need.

    What stays in the heap, besides the rows' buffers, the table and the scaling: the weights
    (unless a resumed model has loaded them), the layers' and the integer engine's buffers and
    objects (about two boxed floats a unit, `per` bytes: 6.9 KB for 64-32-10 on the 64-bit unix
    port); while training, the gradient sums, optimizer moments and best weights (with hold-out
    rows), each as large as the weights, and the shuffled order of the rows; at the end, in
    their place, the file code that saves the model (unless a checkpoint or the resumed model
    has loaded it already)."""
    from micronn.sizes import param_count, training_nbytes
    params = param_count(layers, bias)
    state = (1 if nv else 0) + training_nbytes(layers, bias, "f", fit["optimizer"], fit["batch_size"]) // (4 * params)
    bs = fit["batch_size"]
    order = 0
    if fit.get("shuffle", True) and bs is not None and bs < n:
        order = (2 if n <= 0x10000 else 4) * n + 2 * FLOAT * ((n + 127) // 128)
    end = SAVE_WORK + SAVE_PER_INPUT * widths[0] + (0 if "micronn.store" in sys.modules else STORE_CODE)
    return ("training %s (%d parameters; %d rows%s read from the flash as it goes)"
            % ("-".join(str(s) for s in layers), params, n, " and %d validation rows" % nv if nv else ""),
            (0 if resume else 4 * params) + per * sum(widths) + MARGIN + max(4 * params * state + order, end),
            _pieces(layers, bias, "f", state + (0 if resume else 1)))


def _train(data, model, job, save_s, stop, val, meta, resume, replace):
    if not 0 <= save_s < 1e300:         # false for nan too
        raise ValueError("checkpoint seconds must be a finite number >= 0, got %r" % (save_s,))
    arch, fit, run = job["net"], job["fit"], job.get("run") or {}
    path = "/models/%s.mnn" % model
    if not resume and not replace and _exists(path):
        raise ValueError("%s exists on the board: --overwrite to replace it, --resume to continue training it, "
                         "or another --model" % path)
    layers, bias = arch["layers"], arch["bias"]
    import micronn
    from micronn import exact
    from micronn.data import check_rows
    from micronn.runner import Trainer
    from micronn.sizes import param_count
    params = param_count(layers, bias)
    n_in, n_out, widths, per = _setup(layers, fit)
    d = _data(data, n_in, n_out)
    dv = None
    try:
        if val:
            dv = _data(val, n_in, n_out)
        n, nv = d.n, dv.n if dv else 0
        exact.table()               # the integer sigmoid's table (made once, kept)
        if resume:
            net = load_model(path)
            if net.dtype == "b" or net.sizes != widths:
                raise ValueError("%s is %s%s; it cannot continue this job (%s)" % (
                    path, "-".join(str(s) for s in net.sizes), " int8" if net.dtype == "b" else "",
                    "-".join(str(s) for s in layers)))
        # the block for the arrays that stay, set aside while what reads the whole data runs
        # (the check of its values, done once, and fitting the input scaling): it leaves
        # objects here and there in the heap
        _reserve(_arrays(params, fit, val, not resume))
        for rows, width, name in ((d.X, n_in, "X"), (d.Y, n_out, "Y")) + (
                ((dv.X, n_in, "validation X"), (dv.Y, n_out, "validation Y")) if dv else ()):
            check_rows(rows, width, name, "the network has %d %s" % (width, "outputs" if "Y" in name else "inputs"))
        scaler = None
        if not resume and fit.get("scale") not in (None, "none"):
            from micronn.scale import fit as fit_scaling
            scaler = fit_scaling(d.X, n_in, fit["scale"])
        what, need, pieces = _plan(layers, bias, fit, widths, per, n, nv, resume)
        _need(what, need, pieces)
        if resume:
            before = (net.summary or {}).get("epochs", 0)
        else:
            net = micronn.Network(**arch)
            net.set_meta(meta or {})
            net.scaler = scaler     # fit() then keeps it (it fits one only for a network without)
            before = 0
        net.predict([0.0] * n_in)   # makes the forward pass's buffers and tables now
        _makedirs(path)
        epochs = fit["epochs"]
        save_ms = max(1, int(save_s * 1000)) if save_s else 0
        prog = _Progress(path, before + epochs, save_ms, stop, nv or net.classes or fit["loss"] in ("cce", "bce"))
        trainer = Trainer(net, d.X, d.Y, dv.X if dv else None, dv.Y if dv else None, fit, every=fit["every"],
                          report=prog.report, tick=prog.tick, before=before, **run)
        prog.trainer = trainer
        print("@S", json.dumps({"params": params, "samples": n, "val": nv, "free": _free(), "before": before,
                                "stoppable": prog.stop.poller is not None}))
        gc.collect()                # fit() makes the gradient sums and moments into a heap without garbage
        _collect_often(False)
        interrupted = False
        try:
            trainer.run()
        except KeyboardInterrupt:   # anywhere, maybe half-way through an update: not saved
            interrupted = True
            gc.collect()            # the unix port can raise it inside a collection, leaving the heap locked
            sys.stdout.write("\n")  # it may have cut a line short (a checkpoint's, half printed)
        prog.flush()
        if not interrupted:
            s = trainer.finish()
            prog.epoch = before + trainer.epoch
            # the training state and the rows are no longer needed: room for the file code,
            # which a checkpoint may not have loaded
            trainer.best = trainer.X = trainer.Y = trainer.Xv = trainer.Yv = None
            net.release()
            d.close()
            if dv:
                dv.close()
            d = dv = None
            _collect_often(True)    # importing the file code leaves less garbage in between
            gc.collect()
            net.save(path)
            prog.saved_epoch = prog.epoch
            _line("@C %d" % prog.epoch)
        else:
            s = {}
    finally:
        if d:
            d.close()
        if dv:
            dv.close()
    _result({"epochs": prog.epoch, "loss": trainer.last_loss, "ms": time.ticks_diff(time.ticks_ms(), prog.t0),
             "model": path, "stopped": prog.stopped or interrupted, "interrupted": interrupted,
             "saved": prog.saved_epoch, "summary": s})


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
