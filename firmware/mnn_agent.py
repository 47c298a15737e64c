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

VERSION = 3
FLOAT = 32              # bytes a boxed float may take (16 on ESP32/RP2040, 32 on 64-bit unix)
MARGIN = 3072           # working room for the interpreter during a call
LIB_WORK = 8192         # what training loads on its first epoch besides its arrays: the optimizer,
                        # the scaler and the layers' buffers (about 6 KB on the 64-bit unix port)
DATA_MAGIC = b"MND\x01"


def _result(obj):
    """The result line, written piece by piece (json.dump to the stream): a large result (info
    on a board full of files) needs no string of its size in the heap.  It starts on a line of
    its own even when a Ctrl-C cut the line before it short."""
    sys.stdout.write("\n@R ")
    json.dump(obj, sys.stdout)
    sys.stdout.write("\n")


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
    return gc.mem_free()


def _need(what, need):
    """Raise MemoryError with the numbers when `need` bytes will not fit."""
    free = _free()
    if need > free:
        raise MemoryError("%s needs about %d bytes of heap, the board has %d free" % (what, need, free))


# -- commands ------------------------------------------------------------------------------------

def _listing(path):
    d = path[:path.rfind("/")] or "/"
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return " (there is no %s directory)" % d
    return " (%s holds: %s)" % (d, ", ".join(names) or "nothing")


def load_model(path):
    """Load a model after checking that it fits in the free heap."""
    from micronn import model, store
    if _size(path) < 0:
        raise ValueError("no model %s on the board%s" % (path, _listing(path)))
    with open(path, "rb") as f:
        info = store.describe(f, path)
    _need("the model %s (%d parameters)" % (path, info["n_params"]),
          info["nbytes"] + 2 * FLOAT * sum(info["layers"]) + MARGIN)
    return model.load(path)


def _open_data(path, n_in, n_out):
    """Open a data file written by the host; return (file, rows) positioned at the X block.
    n_out None: any number of outputs (the file's is then in the result's third place)."""
    import struct
    try:
        f = open(path, "rb")
    except OSError:
        raise ValueError("no data file %s on the board" % path)
    head = f.read(12)
    if head[:4] != DATA_MAGIC or len(head) != 12:
        f.close()
        raise ValueError("%s is not a micronn data file" % path)
    n, a, b = struct.unpack("<IHH", head[4:])
    if a != n_in or (n_out is not None and b != n_out):
        f.close()
        raise ValueError("%s has %d inputs and %d outputs per row; the network has %d and %d"
                         % (path, a, b, n_in, n_out if n_out is not None else b))
    return f, n


def _read_floats(f, n, path):
    import array
    a = array.array("f", bytearray(4 * n))
    if f.readinto(a) != 4 * n:
        raise ValueError("%s is truncated" % path)
    return a


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
        from binascii import b2a_base64
        if self.k:
            ms = time.ticks_diff(time.ticks_ms(), self.t0)
            if self.sbuf is not None:
                print("@V", ms, b2a_base64(memoryview(self.sbuf)[:3 * self.k]).decode().strip())
            print("@L", ms, b2a_base64(memoryview(self.buf)[:self.k]).decode().strip())
            self.k = 0
        self.shown = time.ticks_ms()

    def checkpoint(self):
        self.saved = time.ticks_ms()
        try:
            self.trainer.save(self.path)
        except MemoryError:     # the file code does not fit beside the training: the model is saved at the end
            print("@W no checkpoint at epoch %d: not enough heap beside the training (the model is saved "
                  "at the end)" % self.epoch)
            self.save_ms = 0
            return
        self.saved_epoch = self.epoch
        print("@C", self.epoch)


def _exists(path):
    return _size(path) >= 0 or _size(path + ".tmp") >= 0


def train(data, model, job, save_s=30, stop=None, val=None, meta=None, resume=False, replace=False):
    """Train a job (micronn.job: {"net": Network's arguments, "fit": fit's, "run": the
    Trainer's}) on a data file (and hold-out rows in the data file val); checkpoint to
    /models/<model>.mnn as it goes (the best weights so far, with hold-out rows); stop between
    epochs when the byte `stop` arrives on stdin.  meta: what the new model carries (classes,
    inputs, targets).  resume: continue the model of that name (its weights, scaling, classes)
    instead of a new one; else an existing model of that name is replaced only when `replace`."""
    if not 0 <= save_s < 1e300:         # false for nan too
        raise ValueError("checkpoint seconds must be a finite number >= 0, got %r" % (save_s,))
    arch, fit, run = job["net"], job["fit"], job.get("run") or {}
    path = "/models/%s.mnn" % model
    if not resume and not replace and _exists(path):
        raise ValueError("%s exists on the board: --overwrite to replace it, --resume to continue training it, "
                         "or another --model" % path)
    layers, bias = arch["layers"], arch["bias"]
    n_in, n_out = layers[0], layers[-1]
    # the data first, while the heap has its largest free blocks (micronn's many small ones come
    # after); the file code (store) only when a checkpoint is due, and at the end once the data
    # is let go, so that training has the room
    f, n = _open_data(data, n_in, n_out)
    nv = 0
    if val:
        fv, nv = _open_data(val, n_in, n_out)
        fv.close()
    f.close()
    data_bytes = 4 * (n + nv) * (n_in + n_out)
    _need("the data (%d rows%s)" % (n, " and %d validation rows" % nv if nv else ""), data_bytes + MARGIN)
    f, n = _open_data(data, n_in, n_out)
    try:
        X = _read_floats(f, n * n_in, data)
        Y = _read_floats(f, n * n_out, data)
    finally:
        f.close()
    Xv = Yv = None
    if nv:
        f, nv = _open_data(val, n_in, n_out)
        try:
            Xv = _read_floats(f, nv * n_in, val)
            Yv = _read_floats(f, nv * n_out, val)
        finally:
            f.close()
    import micronn
    from micronn.runner import Trainer
    from micronn.sizes import param_count, training_nbytes
    params = param_count(layers, bias)
    _need("training %s (%d parameters, %d samples%s)" % ("-".join(str(s) for s in layers), params, n,
                                                          ", %d validation rows" % nv if nv else ""),
          (0 if resume else 4 * params) + (4 * params if nv else 0)
          + training_nbytes(layers, bias, "f", fit["optimizer"], fit["batch_size"])
          + 8 * n + 2 * FLOAT * sum(layers) + LIB_WORK + MARGIN)
    if resume:
        net = load_model(path)
        if net.dtype == "b" or net.sizes != layers:
            raise ValueError("%s is %s%s; it cannot continue this job (%s)" % (
                path, "-".join(str(s) for s in net.sizes), " int8" if net.dtype == "b" else "",
                "-".join(str(s) for s in layers)))
        before = (net.summary or {}).get("epochs", 0)
    else:
        net = micronn.Network(**arch)
        net.set_meta(meta or {})
        before = 0
    net.predict([0.0] * n_in)   # makes the forward pass's buffers and tables now
    _makedirs(path)
    epochs = fit["epochs"]
    save_ms = max(1, int(save_s * 1000)) if save_s else 0
    prog = _Progress(path, before + epochs, save_ms, stop, nv or net.classes or fit["loss"] in ("cce", "bce"))
    trainer = Trainer(net, X, Y, Xv, Yv, fit, run.get("val"), run.get("patience"), fit["every"], prog.report,
                      prog.tick, before)
    prog.trainer = trainer
    print("@S", json.dumps({"params": params, "samples": n, "val": nv, "free": _free(), "before": before,
                            "stoppable": prog.stop.poller is not None}))
    interrupted = False
    try:
        trainer.run()
    except KeyboardInterrupt:   # anywhere, maybe half-way through an update: not saved
        interrupted = True
        gc.collect()            # the unix port can raise it inside a collection, leaving the heap locked
    prog.flush()
    if not interrupted:
        s = trainer.finish()
        prog.epoch = before + trainer.epoch
        # the rows are no longer needed: room for the file code, which a checkpoint may not have loaded
        X = Y = Xv = Yv = trainer.X = trainer.Y = trainer.Xv = trainer.Yv = None
        gc.collect()
        net.save(path)
        prog.saved_epoch = prog.epoch
        print("@C", prog.epoch)
    else:
        s = {}
    _result({"epochs": prog.epoch, "loss": trainer.last_loss, "ms": time.ticks_diff(time.ticks_ms(), prog.t0),
             "model": path, "stopped": prog.stopped or interrupted, "interrupted": interrupted,
             "saved": prog.saved_epoch, "summary": s})


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
