"""Class labels as a network's targets, and a seeded (stratified) hold-out split.

    classes, Y = micronn.classes.encode(["red", "green", "red"])   # ['green', 'red'], one-hot rows
    net = micronn.Network([4, 8, len(classes)], output="softmax")
    net.classes = classes                                           # saved with the model
    net.fit(X, Y, loss="cce", scale="standard")
    net.classify(x)                                                 # -> "red"

    train, val = micronn.classes.split(Y, 0.2, seed=1)              # row numbers
"""
from .data import length
from .rng import Random


def _number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def names(labels):
    """The distinct labels, sorted: as numbers when every one is a number ("2" before "10"),
    else as text.  Each becomes a string (a class name)."""
    seen = {}
    for v in labels:
        seen[str(v).strip()] = True
    out = list(seen)
    if all(_number(s) is not None for s in out):
        out.sort(key=_number)
    else:
        out.sort()
    return out


def encode(labels, classes=None):
    """(classes, Y): Y has one one-hot row per label, one column per class.  classes: the
    names to use (a model's), in their order; None: names(labels).  A label that is not one of
    them raises ValueError saying which, and on which row."""
    if classes is None:
        classes = names(labels)
    index = {}
    for k, c in enumerate(classes):
        index[c] = k
    k = len(classes)
    Y = []
    for r, v in enumerate(labels):
        name = str(v).strip()
        i = index.get(name)
        if i is None:
            f = _number(name)       # "1.0" in the data for a class stored as "1"
            for c in classes:
                if f is not None and _number(c) == f:
                    i = index[c]
                    break
        if i is None:
            raise ValueError("row %d: class %r is not one of the model's classes (%s)"
                             % (r, name, ", ".join(classes)))
        row = [0.0] * k
        row[i] = 1.0
        Y.append(row)
    return list(classes), Y


def split(Y, fraction, seed=0, stratify=True, width=None, names=None):
    """(train, val): row numbers of a hold-out split, each list in ascending order.

    fraction of the rows (rounded, per class) go to val, drawn with micronn's own generator
    from seed, so the split is the same on every platform.  stratify: split each class (the
    largest value of a one-hot row, or a 0/1 target) in the same proportion.  Y: a list of rows
    (or of single targets), or a flat array of rows of `width` values.  ValueError when either
    side would be empty, or a class would have no training rows (names: the class names it
    says then).
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError("val must be a fraction between 0 and 1 (e.g. 0.2), got %r" % (fraction,))
    from .meta import top
    n = len(Y) // width if width else len(Y)
    groups = {}
    for r in range(n):
        key = 0
        if stratify:
            if width:
                key = top(Y, r * width, width)
            else:
                row = Y[r]
                key = top(row) if length(row) >= 0 else int(row >= 0.5)
        groups.setdefault(key, []).append(r)
    rng = Random(seed)
    train, val = [], []
    lost = None                 # a class whose rows would all be validation rows: (class, rows)
    for key in sorted(groups):
        rows = groups[key]
        rng.shuffle(rows)
        v = int(fraction * len(rows) + 0.5)
        if v == len(rows) and lost is None:
            lost = (key, v)
        val += rows[:v]
        train += rows[v:]
    if not val or not train:
        raise ValueError("val %s of %d rows leaves %s; use %s"
                         % (fraction, n, "no validation rows" if not val else "no training rows",
                            "a larger fraction or more data" if not val else "a smaller fraction"))
    if lost is not None:
        raise ValueError("val %s leaves no training rows of class %s (its %d row%s would all be validation "
                         "rows); use a smaller fraction or more rows of it"
                         % (fraction, repr(names[lost[0]]) if names else lost[0], lost[1], "s" if lost[1] > 1 else ""))
    train.sort()
    val.sort()
    return train, val


def holdout(X, Y, val, seed=0, stratify=True, n_in=None, n_out=None):
    """(X, Y, Xv, Yv): the fraction val of the rows held out (split()).  X, Y: lists of rows, or
    flat arrays of whole rows of n_in and n_out values (the rows come back as lists)."""
    flat = not isinstance(X, list)
    tr, va = split(Y, val, seed, stratify, n_out if flat else None)
    if flat:
        def rows(A, k, idx):
            return [[A[i * k + c] for c in range(k)] for i in idx]
        return rows(X, n_in, tr), rows(Y, n_out, tr), rows(X, n_in, va), rows(Y, n_out, va)
    return [X[i] for i in tr], [Y[i] for i in tr], [X[i] for i in va], [Y[i] for i in va]
