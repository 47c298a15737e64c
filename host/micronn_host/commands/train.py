"""`micronn train`: train a network on the board, with a progress bar; Ctrl-C stops it between
epochs and the board keeps the model."""
import sys
import time

from ..errors import BoardReset, Disconnected, Interrupted
from ..progress import Bar
from . import options
from .history import Curve

HELP = "train a network on the board"
DESCRIPTION = ("Send the data to the board and train there, with a progress bar; the board checkpoints to "
               "/models/NAME.mnn every --checkpoint seconds (the best weights so far, with --val) and at the "
               "end. Ctrl-C stops training between two epochs and keeps the model. Training into the name of "
               "a model the board has is refused unless --overwrite (replace it) or --resume (continue it).")
EXAMPLE = "micronn train wine.csv --target class --layers 16 --val 0.2 --patience 30 --history loss.csv"
STOP_WAIT = 3.0             # seconds the board gets to stop by itself, at least


def arguments(p):
    options.port(p)
    options.training(p)
    options.model(p)
    p.add_argument("--checkpoint", type=float, default=30.0, metavar="SECONDS",
                   help="save the model on the board this often while training (default 30; 0: only "
                   "at the end); the board looks at its clock after every epoch, so a checkpoint "
                   "comes at most one epoch later than asked")


class Progress:
    """What a board's training job reports, shown as it comes: the start, the progress bar and
    loss curve, the checkpoints; and how long to wait for a stop after Ctrl-C (stop_wait)."""

    def __init__(self, job, out):
        self.job, self.out = job, out
        self.curve = Curve(job)
        self.bar = Bar(job["fit"]["epochs"])
        self.checkpoint_at = None           # (epoch, where) of the last checkpoint
        self.stoppable = False
        self.started_at = None
        self.ms = 0

    def started(self, params, free, stoppable, before=0):
        self.bar.close()
        self.out("training %s (%d parameters) on the board, %d bytes of heap free%s"
                 % ("-".join(map(str, self.job["net"]["layers"])), params, free,
                    ", from epoch %d" % before if before else ""))
        self.bar.t0 = self.started_at = time.monotonic()
        self.stoppable = stoppable
        if before:
            self.curve.before = before
            self.bar.total += before

    def losses(self, values, ms, scores=None):
        from .fit import scores_text
        for j, v in enumerate(values):
            self.curve.add(v, None, scores[j] if scores and j < len(scores) else None)
        self.ms = ms
        last = {k: self.curve.last(k) for k in ("val_loss", "accuracy", "val_accuracy")}
        self.bar.update(self.curve.epochs[-1], self.curve.losses[-1], ms / 1000.0, scores_text(last))

    def checkpoint(self, epoch, where):
        """The board keeps the model after `epoch` epochs in `where` (None: no checkpoint of this run)."""
        self.checkpoint_at = None if where is None else (epoch, where)

    def warn(self, text):
        self.bar.close()
        print("micronn: warning: %s" % text, file=sys.stderr, flush=True)

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


def stop_wait(started, ms, callbacks):
    """Seconds to wait for a stop between epochs: twice the time between progress reports
    (one every `every` epochs; `ms` on the board by the last of `callbacks` reports), at
    least STOP_WAIT."""
    if not callbacks:           # no epoch has ended yet: as long again as it has run
        return max(STOP_WAIT, 2 * (time.monotonic() - started) if started else 0.0)
    return max(STOP_WAIT, 2 * ms / 1000.0 / callbacks)


def run(args, out=print):
    from ..boards import connect
    from ..errors import MicronnError
    from .prepare import Described, prepare
    from .fit import summary_text
    options.check_early(args)
    options.seconds(args.checkpoint, "--checkpoint", "only at the end")
    prep = None if args.resume else prepare(args)
    with connect(args.port, soft_reset=True) as board:       # a fresh heap for training
        where = board.where(args.model)
        extra = {}
        if args.resume:
            info = board.describe(args.model)
            if info is None:
                raise MicronnError("--resume: there is no model %s on the board to continue" % where)
            prep = prepare(args, Described(info))
            extra["resume"] = True
        elif board.has_model(args.model):
            if not args.overwrite:
                raise MicronnError("%s exists on the board: --overwrite to replace it, --resume to continue "
                                   "training it, or another --model" % where)
            extra["replace"] = True
        job = prep.job
        for line in prep.lines:
            out(line)
        if prep.Xv is not None:
            extra.update(Xv=prep.Xv, Yv=prep.Yv)
        if prep.meta:
            extra["meta"] = prep.meta
        if job["fit"]["scale"] not in (None, "none") and not board.caps.scales and "scale" not in options.given(args):
            job["fit"]["scale"] = None          # the classifier's default, on a board whose models cannot scale
            out("(inputs not scaled: models on this board do not scale their inputs)")
        if not board.caps.runs_lib:
            board.check_job(job, validation=prep.Xv is not None, resume=args.resume, meta=prep.meta)
            extra = {}
        ev = Progress(job, out)
        try:
            res = board.train(job, prep.X, prep.Y, args.model, args.checkpoint, ev, out=out, **extra)
        except (BoardReset, Disconnected) as e:
            ev.close()
            ev.curve.save(args.history)
            raise type(e)("%s during training; %s" % (e, ev.note(where)))
        except Interrupted:
            ev.close()
            raise Interrupted("stopped waiting for the board; %s" % ev.note(where))
        finally:
            ev.close()
    if ev.curve.epochs and ev.curve.epochs[-1] > res["epochs"] > 0:
        ev.curve.epochs[-1] = res["epochs"]        # a run that stopped early reports its last epoch too
    ev.curve.save(args.history)
    if res.get("interrupted"):
        raise Interrupted("training interrupted by Ctrl-C after epoch %d, in the middle of an epoch, so the "
                          "board did not save it; %s" % (res["epochs"], ev.note(where)))
    s = res.get("summary") or {}
    if res["stopped"]:
        raise Interrupted("training stopped by Ctrl-C after epoch %d (loss %.6g)%s; the board saved the "
                          "model to %s" % (res["epochs"], res["loss"] or float("nan"), summary_text(s),
                                           res["model"]))
    before = ev.curve.before
    out("trained %d epochs%s in %.1fs on the board: loss %.6g%s; model saved to %s"
        % (res["epochs"] - before, options.in_all(before, res["epochs"]), res["ms"] / 1000.0, res["loss"],
           summary_text(s), res["model"]))
    if args.history:
        out("loss curve written to %s" % args.history)
