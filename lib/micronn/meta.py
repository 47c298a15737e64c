"""What a model carries besides its weights: input scaling, class names, the names of its
inputs and targets, and a summary of its training.  Network and QNetwork both inherit it, and
the file format stores it (store.py, version 2)."""

META = ("scaler", "classes", "inputs", "targets", "summary")


class Meta:
    scaler = None       # scale.Scaler, applied to every sample before the first layer
    classes = None      # class names, one per output (or two for a single sigmoid output)
    inputs = None       # input column names
    targets = None      # target column names
    summary = None      # a dict: epochs, loss, and what else the training run recorded

    def meta(self):
        """{name: value} of what is set."""
        out = {}
        for name in META:
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        return out

    def set_meta(self, d):
        for name in META:
            if name in d:
                setattr(self, name, d[name])

    def classify(self, x):
        """The class name the model gives sample x: the output with the largest value, or for a
        single output, the second class when it is at least 0.5."""
        return self.classes[self.class_index(self.predict(x))]

    def class_index(self, outputs):
        if not self.classes:
            raise ValueError("the model has no class names (it was not trained as a classifier)")
        return top(outputs)


def top(y, off=0, n=None):
    """The class index of one row of outputs or one-hot targets: the largest of n values from
    y[off], or for a single value (a sigmoid output, a 0/1 target) 1 when it is >= 0.5."""
    if n is None:
        n = len(y) - off
    if n == 1:
        return 1 if y[off] >= 0.5 else 0
    best = 0
    for k in range(1, n):
        if y[off + k] > y[off + best]:
            best = k
    return best
