"""`micronn fit`: the training of `micronn train`, on this computer, with the same options."""
import os
import time

from ..errors import Interrupted, MicronnError
from ..progress import Bar
from . import options
from .history import Curve

HELP = "train on this computer (same library, same options as train)"
DESCRIPTION = ("Train a network on this computer with the options of `micronn train` and write the model "
               "file. An existing file is replaced only with --overwrite, or continued with --resume. The "
               "first Ctrl-C stops between two epochs and saves the model; a second stops at once and saves "
               "nothing.")
EXAMPLE = "micronn fit wine.csv --target class --layers 16 --val 0.2 --patience 30 -o wine.mnn"


def arguments(p):
    options.training(p)
    p.add_argument("-o", dest="output_file", required=True,
                   help="model file to write (.mnn, or .json for the readable form); with --resume, the model to "
                   "continue, rewritten at the end")


def scores_text(scores):
    """The validation loss and the accuracies, for the progress bar."""
    parts = []
    if scores.get("val_loss") is not None:
        parts.append("val %.6g" % scores["val_loss"])
    if scores.get("accuracy") is not None:
        parts.append("acc %.1f%%" % (100 * scores["accuracy"]))
    if scores.get("val_accuracy") is not None:
        parts.append("val acc %.1f%%" % (100 * scores["val_accuracy"]))
    return " ".join(parts)


def summary_text(s):
    """The end of a run in words: its validation loss and accuracy when measured."""
    out = ""
    if s.get("val_loss") is not None:
        out += ", best validation loss %.6g at epoch %d" % (s["val_loss"], s["best_epoch"])
        if s.get("val_accuracy") is not None:
            out += " (accuracy %.1f%%)" % (100 * s["val_accuracy"])
    if s.get("stopped_early"):
        out += ", stopped early (no lower validation loss for %s epochs)" % s.get("patience", "--patience")
    return out


def run(args, out=print):
    """Ctrl-C stops between epochs (the model saved is the model after the epoch reported, or
    its best epoch with validation); a second one stops at once and saves nothing: the
    weights may be half-way through a step."""
    import micronn
    from micronn.runner import Trainer
    from ..ctrlc import CtrlC
    from .prepare import prepare
    options.check_early(args)
    base = None
    exists = os.path.exists(args.output_file)
    if args.resume:
        try:
            base = micronn.load(args.output_file)
        except (OSError, ValueError) as e:
            raise MicronnError("--resume: %s" % (e if isinstance(e, ValueError) else
                                                  "%s: %s" % (args.output_file, e.strerror or e)))
    elif exists and not args.overwrite:
        raise MicronnError("%s exists: --overwrite to replace it, --resume to continue training it, or "
                           "another -o" % args.output_file)
    prep = prepare(args, base)
    job = prep.job
    for line in prep.lines:
        out(line)
    if base is not None:
        net = base
    else:
        net = micronn.Network(**job["net"])
        net.set_meta(prep.meta)
    before = (net.summary or {}).get("epochs", 0) if base is not None else 0
    curve = Curve(job, before)
    bar = Bar(before + job["fit"]["epochs"])
    t0 = time.monotonic()

    def report(epoch, loss, scores):
        curve.add(loss, epoch, scores)
        bar.update(epoch, loss, extra=scores_text(dict(scores, accuracy=curve.last("accuracy"))))

    with CtrlC(raise_at=2) as ctrl_c:
        try:
            t = Trainer(net, prep.X, prep.Y, prep.Xv, prep.Yv, job["fit"], every=job["fit"]["every"], report=report,
                        tick=lambda e: not ctrl_c.count, before=before, **job["run"])
            t.run()
        except ValueError as e:
            raise MicronnError(str(e))
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted("training interrupted by Ctrl-C in the middle of an epoch; nothing saved "
                              "(%s is untouched)" % args.output_file)
        finally:
            bar.close()
        s = net.summary
        options.save_model(net, args.output_file)
        curve.save(args.history)
    if ctrl_c.count:
        raise Interrupted("training stopped by Ctrl-C after epoch %d (loss %.6g)%s; model saved to %s"
                          % (before + t.epoch, t.last_loss, summary_text(s), args.output_file))
    out("trained %d epochs%s in %.1fs on this computer: loss %.6g%s; model saved to %s"
        % (t.epoch, options.in_all(before, before + t.epoch), time.monotonic() - t0, t.last_loss,
           summary_text(s), args.output_file))
    if args.history:
        out("loss curve written to %s" % args.history)
