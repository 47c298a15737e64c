"""`micronn train` (on the board) and `micronn fit` (on the host, same library, same options)."""
import array
import base64
import sys
import time

from . import dataset
from .errors import BoardReset, DataError, Disconnected, Interrupted, MicronnError
from .progress import Bar

DATA_PATH = "/data/train.mnd"
STOP_BYTE = b"\x1a"         # asks the agent's train() to stop between epochs
STOP_WAIT = 3.0             # seconds the board gets to stop by itself, at least


class Spec:
    """The training options shared by train and fit."""

    def __init__(self, args):
        self.layers = parse_layers(args.layers)
        self.outputs = args.outputs
        self.activation = args.activation
        self.output = args.output
        self.loss = args.loss
        self.epochs = args.epochs
        self.lr = args.lr
        self.batch_size = args.batch_size
        self.bias = not args.no_bias
        self.seed = args.seed
        self.optimizer = args.optimizer
        self.init = args.init
        self.every = max(1, self.epochs // 1000)    # at most ~1000 points on the loss curve

    def network_kwargs(self):
        return dict(activation=self.activation, output=self.output, bias=self.bias, init=self.init,
                    seed=self.seed)

    def fit_kwargs(self):
        return dict(epochs=self.epochs, lr=self.lr, loss=self.loss, batch_size=self.batch_size,
                    optimizer=self.optimizer, every=self.every)

    def check(self):
        """Catch bad options on the host, with the library's own messages."""
        import micronn
        try:
            net = micronn.Network(self.layers, **dict(self.network_kwargs(), init=False))
            net._check_loss(self.loss)
            from micronn.network import training_nbytes
            training_nbytes(self.layers, self.bias, "f", self.optimizer, self.batch_size)
        except (ValueError, KeyError) as e:
            raise MicronnError(str(e).strip("'"))


def parse_layers(text):
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        raise MicronnError("--layers %r: expected sizes separated by commas, e.g. 3,4,1" % text)
    if len(sizes) < 2 or min(sizes) < 1:
        raise MicronnError("--layers %r: need at least an input and an output size, each >= 1" % text)
    return sizes


def load_data(spec, path):
    table = dataset.read_csv(path)
    dataset.check_width(table, spec.layers, spec.outputs)
    return table.split(spec.outputs)


class Curve:
    """The loss curve as it streams in: point j is at epoch min(every * (j + 1), epochs)."""

    def __init__(self, spec):
        self.spec = spec
        self.epochs, self.losses = [], []

    def add(self, loss):
        self.epochs.append(min(self.spec.every * (len(self.losses) + 1), self.spec.epochs))
        self.losses.append(loss)

    def save(self, path):
        if not path:
            return
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("epoch,loss\n")
            for e, l in zip(self.epochs, self.losses):
                f.write("%d,%.9g\n" % (e, l))
        import os
        os.replace(tmp, path)


def run_train(args, out=print):
    from .board import Board
    spec = Spec(args)
    spec.check()
    X, Y = load_data(spec, args.data)
    blob = dataset.pack(X, Y)
    model = args.model
    board_path = "/models/%s.mnn" % model
    curve = Curve(spec)
    state = {"checkpoint": None, "stoppable": False, "started": None, "ms": 0}
    with Board(args.port, soft_reset=True) as board:       # a fresh heap for training
        board.upload(DATA_PATH, blob)
        out("sent %d samples (%d bytes) to %s:%s" % (len(X), len(blob), board.port, DATA_PATH))
        bar = Bar(spec.epochs)

        def on_line(tag, text):
            if tag == "@S":
                import json
                info = json.loads(text)
                bar.close()
                out("training %s (%d parameters) on the board, %d bytes of heap free"
                    % ("-".join(map(str, spec.layers)), info["params"], info["free"]))
                bar.t0 = state["started"] = time.monotonic()
                state["stoppable"] = info.get("stoppable", False)
            elif tag == "@L":
                ms, b64 = text.split(" ", 1)
                for v in array.array("f", base64.b64decode(b64)):
                    curve.add(v)
                state["ms"] = int(ms)
                bar.update(curve.epochs[-1], curve.losses[-1], int(ms) / 1000.0)
            elif tag == "@C":
                state["checkpoint"] = int(text)

        def on_stop():
            """First Ctrl-C: the board stops after its current epoch; how long to give it."""
            bar.close()
            if not state["stoppable"]:
                return 0.0          # its firmware cannot poll stdin: Ctrl-C at once
            wait = stop_wait(state, len(curve.losses))
            print("stopping after the current epoch (up to %.0fs; Ctrl-C again to stop at once)" % wait,
                  file=sys.stderr, flush=True)
            return wait

        call = ("train(%r, %r, %r, activation=%r, output=%r, loss=%r, epochs=%d, lr=%r, batch_size=%r, "
                "bias=%r, seed=%r, optimizer=%r, init=%r, every=%d, save_s=%r, stop=%r)"
                % (DATA_PATH, model, spec.layers, spec.activation, spec.output, spec.loss, spec.epochs,
                   spec.lr, spec.batch_size, spec.bias, spec.seed, spec.optimizer, spec.init,
                   spec.every, args.checkpoint, STOP_BYTE))
        try:
            res = board.call(call, on_line=on_line, timeout=None, interruptible=True,
                             stop_byte=STOP_BYTE, on_stop=on_stop)
        except (BoardReset, Disconnected) as e:
            bar.close()
            curve.save(args.history)
            raise type(e)("%s during training; %s" % (e, _checkpoint_note(state["checkpoint"], board_path)))
        except Interrupted:
            bar.close()
            raise Interrupted("stopped waiting for the board; %s"
                              % _checkpoint_note(state["checkpoint"], board_path))
        finally:
            bar.close()
    curve.save(args.history)
    if res.get("interrupted"):
        raise Interrupted("training interrupted by Ctrl-C after epoch %d, in the middle of an epoch, so the "
                          "board did not save it; %s" % (res["epochs"], _checkpoint_note(res["saved"], board_path)))
    if res["stopped"]:
        raise Interrupted("training stopped by Ctrl-C after epoch %d (loss %.6g); the board saved the "
                          "model to %s" % (res["epochs"], res["loss"] or float("nan"), res["model"]))
    out("trained %d epochs in %.1fs on the board: loss %.6g; model saved to %s"
        % (res["epochs"], res["ms"] / 1000.0, res["loss"], res["model"]))
    if args.history:
        out("loss curve written to %s" % args.history)


def stop_wait(state, callbacks):
    """Seconds to wait for a stop between epochs: twice the time between progress reports
    (one every `every` epochs), at least STOP_WAIT."""
    if not callbacks:           # no epoch has ended yet: as long again as it has run
        started = state["started"]
        return max(STOP_WAIT, 2 * (time.monotonic() - started) if started else 0.0)
    return max(STOP_WAIT, 2 * state["ms"] / 1000.0 / callbacks)


def _checkpoint_note(epoch, path):
    if epoch is None:
        return "no checkpoint was saved yet (any older %s on the board is untouched)" % path
    return "the last checkpoint (epoch %d) is in %s on the board" % (epoch, path)


def run_fit(args, out=print):
    """Ctrl-C stops between epochs (the model saved is the model after the epoch reported);
    a second one stops at once and saves nothing: the weights may be half-way through a step."""
    import micronn
    from .ctrlc import CtrlC
    spec = Spec(args)
    spec.check()
    X, Y = load_data(spec, args.data)
    net = micronn.Network(spec.layers, **spec.network_kwargs())
    curve = Curve(spec)
    bar = Bar(spec.epochs)
    t0 = time.monotonic()
    with CtrlC(raise_at=2) as ctrl_c:
        def callback(epoch, loss):
            curve.losses.append(loss)
            curve.epochs.append(epoch)
            bar.update(epoch, loss)
            if ctrl_c.count:
                return False
        try:
            loss = net.fit(X, Y, callback=callback, **spec.fit_kwargs())
        except ValueError as e:
            raise MicronnError(str(e))
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted("training interrupted by Ctrl-C in the middle of an epoch; nothing saved "
                              "(%s is untouched)" % args.output_file)
        finally:
            bar.close()
        net.save(args.output_file)
        curve.save(args.history)
    if ctrl_c.count:
        raise Interrupted("training stopped by Ctrl-C after epoch %d (loss %.6g); model saved to %s"
                          % (curve.epochs[-1] if curve.epochs else 0, loss, args.output_file))
    out("trained %d epochs in %.1fs on this computer: loss %.6g; model saved to %s"
        % (spec.epochs, time.monotonic() - t0, loss, args.output_file))


def data_error(path, e):
    return DataError("%s: %s" % (path, e))
