"""micronn's on-board agent, driven by the `micronn` command over the raw REPL.

Each host command is one call, e.g. `import mnn_agent as A; A.info()`.  Results and progress go
out as lines starting with "@" (the host ignores the rest); failures are ordinary exceptions,
whose traceback the host turns into a one-line message.  micronn is imported only by the calls
that need it, and every call checks free memory against what it will allocate first.

Lines: "@R <json>" result, "@S <json>" what a long call is about to do, "@L <ms> <base64
float32 losses>" training progress, "@C <epoch>" checkpoint written, "@O <json>" outputs.
Files come and go through the host's transport (put and get), not through the agent.

Every epoch: train() runs fit() with its callback after every epoch (every=1); the callback
reports the losses every `every` epochs as the job says (so the loss history has the same
points), but looks at the clock and polls for the stop byte after each epoch, so a checkpoint
is at most one epoch later than asked and a stop comes at the end of the current epoch.

Stopping: while train() runs, the host asks it to stop by sending the byte given as `stop`
(the raw REPL passes bytes other than Ctrl-C to stdin while code runs); the callback polls for
it between epochs, so the model saved is the model after a whole number of epochs.  A Ctrl-C
(KeyboardInterrupt) can land in the middle of a weight update, so then nothing is saved and
the last checkpoint stays.
"""
import gc
import json
import os
import sys
import time

VERSION = 2
FLOAT = 32              # bytes a boxed float may take (16 on ESP32/RP2040, 32 on 64-bit unix)
MARGIN = 3072           # working room for the interpreter during a call
DATA_MAGIC = b"MND\x01"


def _result(obj):
    print("@R", json.dumps(obj))


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

def info():
    d = {"agent": VERSION, "platform": sys.platform, "free": _free(), "alloc": gc.mem_alloc()}
    try:
        st = os.statvfs("/")
        d["flash_free"] = st[0] * st[3]
    except (OSError, AttributeError):
        pass
    d["models"] = models()
    d["leftovers"] = leftovers()
    try:
        import micronn
        d["micronn"] = micronn.__version__
    except ImportError as e:
        d["micronn"] = None
        d["micronn_error"] = str(e)
    _result(d)


def models():
    """[{name, size, state, layers, ...}] for the .mnn files in /models: each read through
    (its CRC checked, never loaded), state "ok", "truncated", "CRC mismatch" or "unreadable"
    (with "error" saying why)."""
    out = []
    try:
        names = sorted(os.listdir("/models"))
    except OSError:
        return out
    for name in names:
        if not name.endswith(".mnn"):
            continue
        path = "/models/" + name
        m = {"name": name[:-4], "size": _size(path)}
        try:
            from micronn.store import check
        except ImportError:
            m["state"] = "unchecked"
            out.append(m)
            continue
        try:
            with open(path, "rb") as f:
                info, state, error = check(f, path)
            sc = info.pop("scaling", None)      # its arrays are not JSON: say the kind
            if sc:
                info["scaling"] = sc[0]
            m.update(info)
            m["state"] = state
            if error:
                m["error"] = error
        except (ValueError, OSError) as e:
            m["state"] = "unreadable"
            m["error"] = str(e)
        out.append(m)
    return out


# where micronn writes, and the names of what a save or an upload cut short leaves there:
# NAME.tmp (store.atomic), NAME.part (the host's put), NAME.new (a pushed model not installed)
TEMP_DIRS = ("/", "/lib", "/lib/micronn", "/models", "/data")
TEMP_ENDS = (".tmp", ".part", ".new")


def leftovers():
    """[{path, size}] of the temporary files cut-short saves and uploads left; "only_copy" marks
    a model's NAME.mnn.tmp when NAME.mnn is missing (a rename cut short: micronn.load uses it)."""
    out = []
    for d in TEMP_DIRS:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if not name.endswith(TEMP_ENDS):
                continue
            path = d.rstrip("/") + "/" + name
            e = {"path": path, "size": _size(path)}
            if name.endswith(".mnn.tmp") and _size(path[:-4]) < 0:
                e["only_copy"] = True
            out.append(e)
    return out


def clean():
    """Remove the leftovers(); a model's only copy is renamed into place instead when it is
    whole (its CRC checks)."""
    removed, recovered = [], []
    for e in leftovers():
        path = e["path"]
        if e.get("only_copy"):
            try:
                from micronn.store import check, replace
                with open(path, "rb") as f:
                    whole = check(f, path)[1] == "ok"
                if whole:
                    replace(path, path[:-4])
                    recovered.append(path[:-4])
                    continue
            except (ImportError, ValueError, OSError):
                pass
        try:
            os.remove(path)
            removed.append(path)
        except OSError:
            pass
    _result({"removed": removed, "recovered": recovered})


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


def install(tmp, path):
    """Replace `path` by the uploaded model `tmp` only if it loads."""
    try:
        net = load_model(tmp)
        del net
        from micronn.store import replace
        replace(tmp, path)
    finally:
        try:
            os.remove(tmp)
        except OSError:
            pass
    _result({"path": path, "size": _size(path)})


def _open_data(path, n_in, n_out):
    """Open a data file written by the host; return (file, rows) positioned at the X block."""
    import struct
    f = open(path, "rb")
    head = f.read(12)
    if head[:4] != DATA_MAGIC or len(head) != 12:
        f.close()
        raise ValueError("%s is not a micronn data file" % path)
    n, a, b = struct.unpack("<IHH", head[4:])
    if a != n_in or b != n_out:
        f.close()
        raise ValueError("%s has %d inputs and %d outputs per row; the network has %d and %d"
                         % (path, a, b, n_in, n_out))
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
            if c == self.byte:
                return True
            if not c:
                return False
        return False


class _Progress:
    """fit() callback, called after every epoch: streams the loss of every `every`-th epoch (and
    the last) in batches, checkpoints when `save_ms` milliseconds have passed since the last
    one, and stops training (returns False) when the host asks."""

    def __init__(self, net, path, epochs, every, save_ms, stop):
        import array
        self.buf = array.array("f", bytearray(4 * 32))
        self.k = 0
        self.net, self.path, self.epochs, self.every, self.save_ms = net, path, epochs, every, save_ms
        self.epoch = 0
        self.loss = None
        self.saved_epoch = None
        self.stop = _StopRequest(stop)
        self.stopped = False
        self.t0 = self.shown = self.saved = time.ticks_ms()

    def __call__(self, epoch, loss):
        self.epoch, self.loss = epoch, loss
        last = epoch == self.epochs
        if last or epoch % self.every == 0:
            self.buf[self.k] = loss
            self.k += 1
        now = time.ticks_ms()
        if self.k == len(self.buf) or last or (self.k and time.ticks_diff(now, self.shown) >= 250):
            self.flush()
        if self.save_ms and time.ticks_diff(now, self.saved) >= self.save_ms:
            self.checkpoint()
        if self.stop.seen():
            self.stopped = True
            return False

    def flush(self):
        from binascii import b2a_base64
        if self.k:
            print("@L", time.ticks_diff(time.ticks_ms(), self.t0),
                  b2a_base64(memoryview(self.buf)[:self.k]).decode().strip())
            self.k = 0
        self.shown = time.ticks_ms()

    def checkpoint(self):
        self.net.save(self.path)
        self.saved_epoch = self.epoch
        print("@C", self.epoch)
        self.saved = time.ticks_ms()


def train(data, model, job, save_s=30, stop=None):
    """Train a new network as a job (micronn.job: {"net": Network's arguments, "fit": fit's}) on
    a data file; checkpoint to /models/<model>.mnn as it goes; stop between epochs when the
    byte `stop` arrives on stdin."""
    import micronn
    from micronn.sizes import param_count, training_nbytes
    if not 0 <= save_s < 1e300:         # false for nan too
        raise ValueError("checkpoint seconds must be a finite number >= 0, got %r" % (save_s,))
    arch, fit = job["net"], job["fit"]
    layers, bias = arch["layers"], arch["bias"]
    n_in, n_out = layers[0], layers[-1]
    f, n = _open_data(data, n_in, n_out)
    try:
        data_bytes = 4 * n * (n_in + n_out)
        params = param_count(layers, bias)
        _need("training %s (%d parameters, %d samples)" % ("-".join(str(s) for s in layers), params, n),
              4 * params + training_nbytes(layers, bias, "f", fit["optimizer"], fit["batch_size"])
              + 2 * data_bytes + 8 * n + 2 * FLOAT * sum(layers) + MARGIN)
        X = _read_floats(f, n * n_in, data)
        Y = _read_floats(f, n * n_out, data)
    finally:
        f.close()
    net = micronn.Network(**arch)
    path = "/models/%s.mnn" % model
    _makedirs(path)
    epochs = fit["epochs"]
    save_ms = max(1, int(save_s * 1000)) if save_s else 0
    prog = _Progress(net, path, epochs, fit["every"], save_ms, stop)
    print("@S", json.dumps({"params": params, "samples": n, "free": _free(),
                            "stoppable": prog.stop.poller is not None}))
    interrupted = False
    try:
        each = dict(fit)
        each["every"] = 1           # prog sees every epoch, and reports every fit["every"]
        last = net.fit(X, Y, callback=prog, **each)
    except KeyboardInterrupt:   # anywhere, maybe half-way through an update: not saved
        interrupted = True
        last = prog.loss
        gc.collect()            # the unix port can raise it inside a collection, leaving the heap locked
    prog.flush()
    if not interrupted:
        prog.epoch = prog.epoch if prog.stopped else epochs
        prog.checkpoint()
    _result({"epochs": prog.epoch, "loss": last, "ms": time.ticks_diff(time.ticks_ms(), prog.t0),
             "model": path, "stopped": prog.stopped or interrupted, "interrupted": interrupted,
             "saved": prog.saved_epoch})


def predict(model, data):
    """Outputs for each row of a data file (inputs only), one "@O <json>" line per row."""
    net = load_model("/models/%s.mnn" % model)
    f, n = _open_data(data, net.sizes[0], 0)
    try:
        _need("the inputs (%d rows)" % n, 4 * n * net.sizes[0] + MARGIN)
        X = _read_floats(f, n * net.sizes[0], data)
    finally:
        f.close()
    x = [0.0] * net.sizes[0]
    for r in range(n):
        for i in range(len(x)):
            x[i] = X[r * len(x) + i]
        print("@O", json.dumps(net.predict(x)))
    _result({"rows": n})


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
