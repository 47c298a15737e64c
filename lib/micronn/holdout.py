"""micronn.train(): fit() with a hold-out set, for the Python API; the work is runner.Trainer's
(a board imports only that)."""
from .runner import Trainer, check_run


def train(net, X, Y, val=None, patience=None, callback=None, every=1, seed=0, **fit):
    """net.fit(X, Y, **fit) with a hold-out set; returns the summary (also in net.summary).

    val: a fraction of the rows to hold out (a split seeded by seed, stratified by class for a
    classifier) or a pair (Xv, Yv) of rows; patience: stop after this many epochs without a
    lower validation loss, keeping the best weights; callback(epoch, loss, scores) every
    `every` epochs and after the last (scores: val_loss, val_accuracy, accuracy as measured);
    returning False stops.  The network ends with the weights of its best epoch by
    validation loss (the last epoch's without val).
    """
    Xv = Yv = None
    if isinstance(val, (tuple, list)):
        Xv, Yv = val
        val = None
    stop = []

    def report(epoch, loss, scores):
        if callback is not None and callback(epoch, loss, scores) is False:
            stop.append(epoch)

    check_run(val if Xv is None else None, patience, Xv is not None or val is not None)
    t = Trainer(net, X, Y, Xv, Yv, fit, val, patience, every, report, lambda e: not stop, seed=seed)
    return t.run()
