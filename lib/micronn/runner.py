"""What a training run does around fit(): a hold-out set measured every epoch, early stopping,
the best weights kept, accuracy for classifiers, and a summary stored in the model.

    summary = micronn.train(net, X, Y, val=0.2, patience=30, epochs=500, lr=0.05, loss="cce")

(micronn.train is in holdout.py, with the split of a fraction of the rows.)  The same Trainer runs `micronn fit` here and `micronn train` on a board (the job's "run" part:
job.FIELDS), so both stop at the same epoch and keep the same weights.

Memory: the hold-out rows are packed once (4 bytes a value for float32), and the best weights
are a second copy of the parameters (made at the first validation).  Time: the hold-out rows
are run forward after every epoch (a forward pass is about a third of a training step), and a
classifier's accuracy on the training rows is measured at most ACC_POINTS times in a run.
"""
from . import kernels
from .data import check_rows, whole_number, zeros

ACC_POINTS = 100    # a run measures the training rows' accuracy at most about this often


def check_run(val=None, patience=None, has_val=None):
    """The "run" options' rules: val a fraction in (0, 1) or None, patience a whole number >= 1
    or None, and patience only with validation rows (has_val: whether there are; None: val
    decides)."""
    if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float)) or not 0 < val < 1):
        raise ValueError("val must be a fraction between 0 and 1 (e.g. 0.2), got %r" % (val,))
    if patience is not None:
        whole_number(patience, "patience", 1)
        if not (has_val if has_val is not None else val is not None):
            raise ValueError("patience: early stopping watches the validation loss; give validation rows "
                             "(val) too")


def classifier(net, loss):
    """Whether accuracy means something for this model: it has class names or a classifier's loss."""
    return bool(net.classes) or loss in ("cce", "bce")


class Trainer:
    """fit() with validation every epoch, patience and the best weights.

    X, Y: the training rows; Xv, Yv: the hold-out rows (or None); fit: fit()'s arguments (its
    callback and every are the Trainer's); patience: epochs without a lower validation loss
    before stopping (None: never); every: report every this many epochs (and the last);
    report(epoch, loss, scores) at those epochs, scores a dict of what was measured there
    (val_loss, val_accuracy, accuracy); tick(epoch) after every epoch (False stops training);
    before: epochs the model has already been trained (a resumed run counts on from there).
    """

    def __init__(self, net, X, Y, Xv=None, Yv=None, fit=None, val=None, patience=None, every=1, report=None,
                 tick=None, before=0, seed=0):
        fit = dict(fit or {})
        fit.pop("callback", None)
        fit.pop("every", None)
        self.fit = fit
        self.loss = net.check_loss(fit.get("loss", "mse"))
        n_in, n_out = net.sizes[0], net.sizes[-1]
        check_run(val, patience, Xv is not None or val is not None)
        if Xv is None and val is not None:
            from .classes import holdout
            X, Y, Xv, Yv = holdout(X, Y, val, seed, classifier(net, self.loss), n_in, n_out)
        whole_number(every, "every", 1)
        self.net, self.patience, self.every, self.report, self.tick = net, patience, every, report, tick
        self.before = before
        self.X, self.Y, self.Xv, self.Yv = X, Y, Xv, Yv     # read where they are (fit() does the same)
        self.n = check_rows(X, n_in, "X", "the network has %d inputs" % n_in)[0]
        ny = check_rows(Y, n_out, "Y", "the network has %d outputs" % n_out)[0]
        if ny != self.n:
            raise ValueError("X has %d samples but Y has %d" % (self.n, ny))
        self.nv = 0
        if Xv is not None:
            self.nv = check_rows(Xv, n_in, "validation X", "the network has %d inputs" % n_in)[0]
            nyv = check_rows(Yv, n_out, "validation Y", "the network has %d outputs" % n_out)[0]
            if nyv != self.nv:
                raise ValueError("validation X has %d samples but Y has %d" % (self.nv, nyv))
        self.cls = classifier(net, self.loss)
        epochs = fit.get("epochs", 1)
        whole_number(epochs, "epochs", 1)
        self.epochs = epochs
        k = (epochs + every * ACC_POINTS - 1) // (every * ACC_POINTS)
        self.acc_every = every * max(1, k)
        # copies of the buffers at the best epoch, made now: before fit() allocates its state,
        # while the heap is in one piece (a board)
        self.best = [zeros(net.dtype, len(b)) for b in net.buffers()] if self.nv else None
        self.best_val = None        # (val_loss, val_accuracy, epoch, training loss)
        self.since = 0              # epochs since the best
        self.epoch = 0              # epochs run in this call
        self.last_loss = None
        self.stopped_early = False
        self.stopped = False

    # -- measuring -----------------------------------------------------------------------------

    def score(self, X, Y, n=None):
        """(loss, accuracy or None) of the network on rows X, Y (Network.evaluate)."""
        if self.cls:
            return self.net.evaluate(X, Y, self.loss, True)
        return self.net.evaluate(X, Y, self.loss), None

    def _keep(self):
        """Copy the weights into the best-weights buffers."""
        for src, dst in zip(self.net.buffers(), self.best):
            kernels.load_row(src, 0, dst, len(src))

    def buffers(self):
        """The weights a checkpoint should hold: the best so far when there is a hold-out set."""
        return self.best if self.best_val is not None else self.net.buffers()

    # -- running -------------------------------------------------------------------------------

    def _epoch(self, epoch, loss):
        self.epoch, self.last_loss = epoch, loss
        last = epoch == self.epochs
        scores = {}
        if self.nv:
            vl, va = self.score(self.Xv, self.Yv, self.nv)
            scores["val_loss"] = vl
            if va is not None:
                scores["val_accuracy"] = va
            if self.best_val is None or vl < self.best_val[0]:
                self.best_val = (vl, va, self.before + epoch, loss)
                self.since = 0
                self._keep()
            else:
                self.since += 1
        stop = self.patience is not None and self.since >= self.patience
        point = last or stop or epoch % self.every == 0
        if point and self.cls and (last or stop or epoch % self.acc_every == 0):
            scores["accuracy"] = self.score(self.X, self.Y, self.n)[1]
        if point:
            if self.report is not None:
                self.report(self.before + epoch, loss, scores)
        if self.tick is not None and self.tick(self.before + epoch) is False:
            self.stopped = True
            return False
        if stop:
            self.stopped_early = True
            return False

    def run(self):
        """Train; leave the best weights (by validation loss, else the last) in the network, its
        summary in net.summary; return the summary."""
        fit = dict(self.fit, callback=self._epoch, every=1)
        self.net.fit(self.X, self.Y, **fit)
        return self.finish()

    def save(self, path):
        """Write a checkpoint: the model with the best weights so far (the current ones without
        hold-out rows) and the summary so far, atomically."""
        from . import store
        net = self.net
        net.summary = self.summary()
        store.save(path, store.header(net.describe()), self.buffers())

    def finish(self):
        """Put the best weights back and write the summary (also after an interrupted run)."""
        net = self.net
        if self.best_val is not None:
            for src, dst in zip(self.best, net.buffers()):
                kernels.load_row(src, 0, dst, len(src))
        s = self.summary()
        if self.cls and self.epoch:
            s["accuracy"] = self.score(self.X, self.Y, self.n)[1]
        net.summary = s
        return s

    def summary(self):
        """What the run has done so far, for the model's summary."""
        s = {"epochs": self.before + self.epoch, "rows": self.n,
             "loss": self.best_val[3] if self.best_val else self.last_loss,
             "fit": {"loss": self.loss, "optimizer": self.fit.get("optimizer", "sgd"),
                     "lr": self.fit.get("lr", 0.1), "batch_size": self.fit.get("batch_size")}}
        if self.best_val is not None:
            vl, va, be, _ = self.best_val
            s["val_loss"], s["best_epoch"], s["val_rows"] = vl, be, self.nv
            if va is not None:
                s["val_accuracy"] = va
        if self.stopped_early:
            s["stopped_early"] = True
        if self.patience is not None:
            s["patience"] = self.patience
        return s
