"""One training run as a plain dict: what `micronn fit` runs on a computer, what the agent runs on
a board and what the program for a tiny board is built for.

    job = micronn.job.make({"layers": [3, 4, 1], "lr": 1.0, "loss": "sse", "epochs": 1500})
    # {"net": {"layers": [3, 4, 1], ...}, "fit": {"epochs": 1500, ...}, "run": {"val": None, ...}}
    net = micronn.Network(**job["net"])
    net.fit(X, Y, callback=cb, **job["fit"])                   # or, with validation and patience:
    micronn.runner.Trainer(net, X, Y, Xv, Yv, job["fit"], **job["run"]).run()

FIELDS is the one list of training options: the command line is built from it (each field a
flag, its help text the flag's help), make() checks a job with the library's own rules, and
a board receives the dict and passes its parts on unchanged.  So a new training option is a
row here and its use in Network, fit() or the Trainer (runner.py); nothing between them changes.
"""

# (name, part, default, kind, help).  part: "net" goes to Network(), "fit" to fit(), "run" to
# what runs around fit() (runner.Trainer: validation, early stopping).  kind: how
# the command line reads it: "sizes" (3,4,1), "int", "float", "name", "flag" (a True default
# is turned off by --no-NAME).  A default of None on "sizes" means the option is required.
FIELDS = (
    ("layers", "net", None, "sizes", "layer sizes from inputs to outputs, e.g. 3,4,1"),
    ("activation", "net", "sigmoid", "name", "hidden layers: sigmoid (default), tanh, relu, leaky_relu, linear"),
    ("output", "net", None, "name", "output layer: any of those or softmax (default: as --activation)"),
    ("bias", "net", True, "flag", "layers without biases (like the article)"),
    ("init", "net", None, "name", "initial weights: uniform, xavier or he (default: by activation)"),
    ("seed", "net", None, "int", "seed for the initial weights and shuffling (default: random)"),
    ("loss", "fit", "mse", "name", "mse (default), sse, bce (sigmoid output) or cce (softmax output)"),
    ("epochs", "fit", 100, "int", "passes over the data (default 100)"),
    ("lr", "fit", 0.1, "float", "learning rate (default 0.1)"),
    ("batch_size", "fit", None, "int", "samples per step (default: all of them, full batch; 1 is online)"),
    ("optimizer", "fit", "sgd", "name", "sgd (default), momentum or adam"),
    ("scale", "fit", None, "name", "scale the inputs inside the model, fitted on the training rows: standard, "
     "minmax or none (default: standard for a classifier trained from a CSV with a header, else none)"),
    ("val", "run", None, "float", "hold out this fraction of the rows to measure the model on after every epoch "
     "(stratified by class for a classifier, the split seeded by --seed, 0 without one)"),
    ("patience", "run", None, "int", "stop after this many epochs without a lower validation loss; the model "
     "kept is the one of the best epoch (needs --val or --val-data)"),
)
MAX_POINTS = 1000       # a run reports its loss at most about this often (fit's `every`)


def defaults():
    """{name: default} of every field."""
    return dict((f[0], f[2]) for f in FIELDS)


def make(options):
    """A checked job from {name: value} (missing names take their defaults, unknown ones are
    refused); ValueError with the library's own message when something is wrong."""
    values = defaults()
    for name in options:
        if name not in values:
            raise ValueError("unknown training option %r; expected one of %s"
                             % (name, ", ".join(f[0] for f in FIELDS)))
        values[name] = options[name]
    if values["layers"] is None:
        raise ValueError("layers: the layer sizes are required, e.g. [3, 4, 1]")
    job = {"net": {}, "fit": {}, "run": {}}
    for name, part, _, _, _ in FIELDS:
        job[part][name] = values[name]
    fit = job["fit"]
    epochs = fit["epochs"]
    fit["every"] = max(1, epochs // MAX_POINTS) if isinstance(epochs, int) else 1
    check(job)
    return job


def check(job):
    """Check a job with the rules of Network() and fit() (on the computer: it builds the
    network's zeroed arrays to do so)."""
    from .network import Network, check_fit
    from .runner import check_run
    net, fit = job["net"], job["fit"]
    run = job.get("run", {})
    check_run(run.get("val"), run.get("patience"), True)
    Network(**dict(net, init=False)).check_loss(fit["loss"])
    if net["init"] is not None and net["init"] not in ("uniform", "xavier", "he"):
        Network([1, 1], init=net["init"])       # the library's message for an unknown init
    check_fit(fit["epochs"], fit["lr"], fit["batch_size"], fit["optimizer"], fit["every"], fit["scale"])


def parse_sizes(text):
    """[3, 4, 1] from "3,4,1"; ValueError when it is not that."""
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        raise ValueError("%r: expected sizes separated by commas, e.g. 3,4,1" % (text,))
    return sizes
