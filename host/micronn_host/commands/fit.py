"""`micronn fit`: the training of `micronn train`, on this computer, with the same options."""
import time

from ..errors import Interrupted, MicronnError
from ..progress import Bar
from . import options
from .history import Curve

HELP = "train on this computer (same library, same options as train)"
DESCRIPTION = ("Train a network on this computer with the options of `micronn train` and write the model "
               "file. The first Ctrl-C stops between two epochs and saves the model; a second stops at "
               "once and saves nothing.")
EXAMPLE = "micronn fit data.csv --layers 3,4,1 --epochs 1500 --lr 1 --loss sse -o model.mnn"


def arguments(p):
    options.training(p)
    p.add_argument("-o", dest="output_file", required=True, help="model file to write (.mnn)")


def run(args, out=print):
    """Ctrl-C stops between epochs (the model saved is the model after the epoch reported);
    a second one stops at once and saves nothing: the weights may be half-way through a step."""
    import micronn
    from .. import dataset
    from ..ctrlc import CtrlC
    job = options.job(args)
    X, Y = dataset.training_data(args.data, job["net"]["layers"], args.outputs)
    net = micronn.Network(**job["net"])
    curve = Curve(job)
    bar = Bar(job["fit"]["epochs"])
    t0 = time.monotonic()
    with CtrlC(raise_at=2) as ctrl_c:
        def callback(epoch, loss):
            curve.add(loss, epoch)
            bar.update(epoch, loss)
            if ctrl_c.count:
                return False
        try:
            loss = net.fit(X, Y, callback=callback, **job["fit"])
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
        % (job["fit"]["epochs"], time.monotonic() - t0, loss, args.output_file))
