"""`micronn train` (on the board) and `micronn fit` (on the host, same library, same options)."""
import sys
import time

from . import dataset
from .errors import BoardReset, Disconnected, Interrupted, MicronnError
from .progress import Bar

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
            net.check_loss(self.loss)
            from micronn.sizes import training_nbytes
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


class Progress:
    """What a board's training job reports, shown as it comes: the start, the progress bar and
    loss curve, the checkpoints; and how long to wait for a stop after Ctrl-C (stop_wait)."""

    def __init__(self, spec, out):
        self.spec, self.out = spec, out
        self.curve = Curve(spec)
        self.bar = Bar(spec.epochs)
        self.checkpoint_at = None           # (epoch, where) of the last checkpoint
        self.stoppable = False
        self.started_at = None
        self.ms = 0

    def started(self, params, free, stoppable):
        self.bar.close()
        self.out("training %s (%d parameters) on the board, %d bytes of heap free"
                 % ("-".join(map(str, self.spec.layers)), params, free))
        self.bar.t0 = self.started_at = time.monotonic()
        self.stoppable = stoppable

    def losses(self, values, ms):
        for v in values:
            self.curve.add(v)
        self.ms = ms
        self.bar.update(self.curve.epochs[-1], self.curve.losses[-1], ms / 1000.0)

    def checkpoint(self, epoch, where):
        self.checkpoint_at = (epoch, where)

    def stop_wait(self):
        """First Ctrl-C: the board stops after its current epoch; how long to give it (0: its
        firmware cannot hear the stop byte, so Ctrl-C at once)."""
        self.bar.close()
        if not self.stoppable:
            return 0.0
        wait = stop_wait(self.started_at, self.ms, len(self.curve.losses))
        print("stopping after the current epoch (up to %.0fs; Ctrl-C again to stop at once)" % wait,
              file=sys.stderr, flush=True)
        return wait

    def note(self, where):
        """Which checkpoint the board keeps, in words."""
        if self.checkpoint_at is None:
            return "no checkpoint was saved yet (any older %s on the board is untouched)" % where
        return "the last checkpoint (epoch %d) is in %s on the board" % self.checkpoint_at

    def close(self):
        self.bar.close()


def run_train(args, out=print):
    from .board import connect
    spec = Spec(args)
    spec.check()
    X, Y = load_data(spec, args.data)
    ev = Progress(spec, out)
    with connect(args.port, soft_reset=True) as board:       # a fresh heap for training
        where = board.where(args.model)
        try:
            res = board.train(spec, X, Y, args.model, args.checkpoint, ev, out=out)
        except (BoardReset, Disconnected) as e:
            ev.close()
            ev.curve.save(args.history)
            raise type(e)("%s during training; %s" % (e, ev.note(where)))
        except Interrupted:
            ev.close()
            raise Interrupted("stopped waiting for the board; %s" % ev.note(where))
        finally:
            ev.close()
    ev.curve.save(args.history)
    if res.get("interrupted"):
        raise Interrupted("training interrupted by Ctrl-C after epoch %d, in the middle of an epoch, so the "
                          "board did not save it; %s" % (res["epochs"], ev.note(where)))
    if res["stopped"]:
        raise Interrupted("training stopped by Ctrl-C after epoch %d (loss %.6g); the board saved the "
                          "model to %s" % (res["epochs"], res["loss"] or float("nan"), res["model"]))
    out("trained %d epochs in %.1fs on the board: loss %.6g; model saved to %s"
        % (res["epochs"], res["ms"] / 1000.0, res["loss"], res["model"]))
    if args.history:
        out("loss curve written to %s" % args.history)


def stop_wait(started, ms, callbacks):
    """Seconds to wait for a stop between epochs: twice the time between progress reports
    (one every `every` epochs; `ms` on the board by the last of `callbacks` reports), at
    least STOP_WAIT."""
    if not callbacks:           # no epoch has ended yet: as long again as it has run
        return max(STOP_WAIT, 2 * (time.monotonic() - started) if started else 0.0)
    return max(STOP_WAIT, 2 * ms / 1000.0 / callbacks)


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
