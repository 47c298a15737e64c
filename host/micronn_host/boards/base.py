"""What every kind of board offers the commands, and what it can do, as data.

connect() (boards/__init__.py) returns a Board; the commands call only the methods below and
read only `caps`, so a new kind of board is one more subclass and one more line in connect().
"""
from micronn.sizes import OPTIMIZERS

from ..errors import MicronnError

TINY_HEAP = 32 * 1024   # less free heap than this: lib/micronn does not fit (importing it from
                        # source alone takes ~30 KB on the unix port), so a TinyBoard it is


class Capabilities:
    """What a board can do, as found out when it was connected.

    platform: sys.platform; heap: free heap then (bytes); max_command: the longest command it
    takes in one piece (None: any); runs_lib: whether lib/micronn runs there (else a program is
    generated per model); optimizers: those a training job may use; scales: whether a model
    there can scale its inputs; int8: whether int8 models run there; renames: whether its
    filesystem has os.rename (else models are kept as generations of files); conv: whether
    networks with convolutions and pooling (layer specs) train and run there; takes: the
    training options (micronn.job.FIELDS) a job there honours (None: every one, as lib/micronn
    runs the job itself), so that an option added later is refused there, not ignored.
    """

    def __init__(self, platform, heap, max_command=None, runs_lib=True, optimizers=OPTIMIZERS,
                 scales=True, int8=True, renames=True, conv=True, takes=None):
        self.platform, self.heap, self.max_command = platform, heap, max_command
        self.runs_lib, self.optimizers, self.scales = runs_lib, tuple(optimizers), scales
        self.int8, self.renames, self.conv = int8, renames, conv
        self.takes = None if takes is None else tuple(takes)

    def as_dict(self):
        return dict(self.__dict__)


def conv_refusal(what):
    """The one line a board without convolutions answers a model or job with them."""
    return ("%s: this board runs a program made for each model, with dense layers only, not convolutions "
            "or pooling; use a dense network here (e.g. --layers 16), or a board with lib/micronn" % what)


class Board:
    """A connected board.  Subclasses implement the jobs; `repl` is the transport (a RawRepl,
    with its file operations), `port` its name, `caps` its Capabilities."""

    repl = port = caps = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.repl.close()

    @property
    def interrupted(self):
        return self.repl.interrupted

    def check_job(self, job, validation=False, resume=False, meta=None):
        """Refuse, before anything is sent, a training job this board cannot run."""
        if not self.caps.conv and [v for v in job["net"]["layers"] if isinstance(v, (str, list, tuple))]:
            raise MicronnError(conv_refusal("--layers %s" % ",".join(map(str, job["net"]["layers"]))))
        if not self.caps.runs_lib:
            what = ("--val or --val-data" if validation or job.get("run", {}).get("val") is not None else
                    "--patience" if job.get("run", {}).get("patience") else "--resume" if resume else
                    "class names" if meta and meta.get("classes") else None)
            if what:
                raise MicronnError("%s: this board runs a program made for each model, without lib/micronn's "
                                   "training runs; train with `micronn fit%s` here and `micronn push` the model%s"
                                   % (what, " --scale none" if what == "class names" else "",
                                      ", or train on numeric targets" if what == "class names" else ""))
        opt = job["fit"]["optimizer"]
        if opt not in self.caps.optimizers:
            raise MicronnError("--optimizer %s: this board trains with %s only; leave --optimizer out"
                               % (opt, ", ".join(self.caps.optimizers)))
        if job["fit"]["scale"] not in (None, "none") and not self.caps.scales:
            raise MicronnError("--scale %s: models on this board do not scale their inputs; scale the "
                               "data before training, or leave --scale out" % job["fit"]["scale"])
        if self.caps.takes is not None:
            from micronn.job import FIELDS
            for name, part, default, _, _ in FIELDS:
                if name not in self.caps.takes and job.get(part, {}).get(name, default) != default:
                    raise MicronnError("--%s: this board's training program does not take it; leave it out, or "
                                       "train with `micronn fit` here and `micronn push` the model"
                                       % name.replace("_", "-"))

    # -- the jobs (each subclass implements them all) ------------------------------------------

    def where(self, model):
        """Where model NAME lives on the board, in words (and a check of the name)."""
        raise NotImplementedError

    def info(self):
        """A dict: port, version, release, machine, platform, mpy, native, free, micronn, models..."""
        raise NotImplementedError

    def deploy(self, source=False, native=True, out=print):
        raise NotImplementedError

    def train(self, job, X, Y, model, checkpoint_s, ev, out=print, **run):
        """Train `job` (micronn.job) on X, Y as model NAME; ev (commands.train.Progress) hears
        of the start, the losses and the checkpoints and says how long a stop may take.  run:
        Xv, Yv (hold-out rows), meta (class and column names for a new model), resume (continue
        model NAME), replace (an existing model NAME may be replaced); a board without
        lib/micronn refuses them in check_job, so they reach only the boards that take them.
        Returns {epochs, loss, ms, model, stopped, interrupted, saved, summary}."""
        raise NotImplementedError

    def describe(self, model):
        """Model NAME's header as a dict (layers, activations, classes, inputs, targets, summary,
        scaling kind), or None when the board has no such model."""
        raise NotImplementedError

    def has_model(self, model):
        """Whether the board holds model NAME."""
        return self.describe(model) is not None

    def evaluate(self, model, X, Y, classes=None, targets=None):
        """Model NAME's metrics on rows X, Y (micronn.metrics' report) for a model with these
        class names (None: a regression) and target names.  Here: from the outputs the board
        computes (predict); a board with lib/micronn computes the metrics itself."""
        from micronn import metrics
        outs = self.predict(model, X)
        t = metrics.Confusion(len(classes)) if classes else metrics.Regression(len(Y[0]))
        for y, row in zip(outs, Y):
            metrics.add_row(t, y, row, 0, len(row))
        return t.report(classes or targets)

    def record(self, source, label, rate, rows, seconds, window, on_row):
        """Read the board's sensors into rows (mnn_agent.record)."""
        raise MicronnError("micronn record runs the agent on the board, which does not fit this one (%s)"
                           % self.caps.platform)

    def fetch(self, model):
        """(the .mnn bytes of model NAME, where it was)."""
        raise NotImplementedError

    def push(self, model, data, net):
        """Install .mnn bytes as model NAME once the board has loaded them; returns where."""
        raise NotImplementedError

    def inputs(self, model):
        """How many inputs model NAME takes."""
        raise NotImplementedError

    def predict(self, model, X):
        """Model NAME's outputs for each row of X, computed on the board."""
        raise NotImplementedError

    def bench(self):
        """The board, ready for `micronn bench` (which runs lib/micronn there)."""
        raise MicronnError("micronn bench runs lib/micronn on the board, which does not fit this one (%s, "
                           "%d bytes of heap); bench/microbit_article.py measures the micro:bit"
                           % (self.caps.platform, self.caps.heap))
