"""The on-board part of `make bench`: one self-contained script for any MicroPython board
(and CPython), so a host can send it over the raw REPL and read the results back.

Entry point: run(impl, net, repeats=5) measures one implementation on one network and prints
(and returns) one JSON line; main(argv) does the same from a command line.  Heap bytes are
reported apart: the model's own ("bytes_per_param") and what micronn keeps once per process
for all models, such as activation tables and int8 scratch ("shared_bytes"):

    micropython -X heapsize=192k bench/onboard.py naive 16-32-32-4
    python3 bench/onboard.py micronn 3-4-1

impl is "naive" (the plain nested-lists network below, written like the article), "micronn"
(float32 micronn.Network as it runs by default), "float" (the same with net.fast = False: the
float kernels only) or "int8" (micronn.quantize of the micronn network).  int8 runs in two
steps (micronn_host.benchtable.STEPS): "int8-make" trains the float model, quantizes it, saves it to TMP and
reports "maxdiff" (the largest output difference against the float model over the data); then
"int8", in a fresh heap, loads TMP as a board loads a model at boot and measures it alone.
Run each (impl, net) step in a fresh interpreter (or after a soft reset) so one measurement's
heap churn cannot fragment the next one's heap.  Figures are the fastest of `repeats` runs, each
at least 20 ms long.
"""
import gc
import json
import math
import sys
import time

NETS = {
    # name: (layer sizes, biases)
    "3-4-1": ([3, 4, 1], False),        # the article's network
    "16-32-32-4": ([16, 32, 32, 4], True),
    "64-64-10": ([64, 64, 10], True),
    "150-20-3": ([150, 20, 3], True),   # a dense network of about the size of the one below
    # a 1-D CNN on windows of 50 readings of 3 channels (no naive version)
    "50x3-conv8k5-maxpool2-16-3": (["50x3", "conv8k5", "maxpool2", 16, 3], True),
}
TMP = "_bench_int8.mnn"     # written by "int8-make", removed by "int8", in the current directory
SAMPLES = 8         # a small data set, cycled: the data must not crowd a 192 KB heap
LR = 0.1


# -- clocks and heap -----------------------------------------------------------------------------

if hasattr(time, "ticks_us"):
    def _now():
        return time.ticks_us()

    def _us(t0):
        return time.ticks_diff(time.ticks_us(), t0)
else:
    def _now():
        return time.perf_counter()

    def _us(t0):
        return (time.perf_counter() - t0) * 1e6

try:
    import tracemalloc          # CPython: count the bytes a build allocates
except ImportError:
    tracemalloc = None


def _heap_used():
    gc.collect()
    if hasattr(gc, "mem_free"):
        return -gc.mem_free()
    if tracemalloc is not None and tracemalloc.is_tracing():
        return tracemalloc.get_traced_memory()[0]
    return 0


def _fastest(work, items, repeats, least_us=20000):
    """µs per item of work() (items each time): the fastest of `repeats` runs, each of as many
    calls as last least_us (a run is long against the clock's resolution and a scheduler's time
    slice, and the fastest run is the one the least disturbed on a shared machine)."""
    gc.collect()
    t0 = _now()
    work()
    rounds = max(1, int(least_us / max(_us(t0), 1)))
    best = None
    for _ in range(repeats):
        gc.collect()
        t0 = _now()
        for _ in range(rounds):
            work()
        t = _us(t0) / (rounds * items)
        if best is None or t < best:
            best = t
    return best


# -- data: the same pseudo-random samples on every runtime ---------------------------------------

def dataset(n_in, n_out, count):
    """count rows of inputs in [0, 1) and one-hot-ish targets, from a tiny LCG."""
    s = 12345
    X, Y = [], []
    for _ in range(count):
        row = []
        for _ in range(n_in):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            row.append((s >> 8) / 8388608.0)
        X.append(row)
        Y.append([1.0 if k == len(X) % n_out else 0.0 for k in range(n_out)])
    return X, Y


# -- the baseline: nested lists of floats, loops, written plainly like the article ---------------

def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class NaiveNetwork:
    """Sigmoid layers; weights[l][j][i] joins input i to unit j of layer l; online SGD on the
    sum-of-squares loss."""

    def __init__(self, sizes, bias):
        s = 1
        self.weights = []
        self.biases = []
        for l in range(len(sizes) - 1):
            rows = []
            for j in range(sizes[l + 1]):
                row = []
                for i in range(sizes[l]):
                    s = (s * 1103515245 + 12345) & 0x7FFFFFFF
                    row.append((s >> 8) / 8388608.0 - 0.5)
                rows.append(row)
            self.weights.append(rows)
            self.biases.append([0.0] * sizes[l + 1] if bias else None)

    def feedforward(self, x):
        outputs = [x]
        for W, b in zip(self.weights, self.biases):
            out = []
            for j in range(len(W)):
                row = W[j]
                s = b[j] if b else 0.0
                for i in range(len(row)):
                    s += row[i] * x[i]
                out.append(sigmoid(s))
            outputs.append(out)
            x = out
        return outputs

    def predict(self, x):
        return self.feedforward(x)[-1]

    def train(self, x, y, lr):
        outputs = self.feedforward(x)
        top = outputs[-1]
        delta = [2.0 * (top[k] - y[k]) * top[k] * (1.0 - top[k]) for k in range(len(top))]
        for l in range(len(self.weights) - 1, -1, -1):
            W, b, inp = self.weights[l], self.biases[l], outputs[l]
            back = [0.0] * len(inp)
            for j in range(len(W)):
                row = W[j]
                d = delta[j]
                for i in range(len(row)):
                    back[i] += row[i] * d
                    row[i] -= lr * d * inp[i]
                if b:
                    b[j] -= lr * d
            delta = [back[i] * inp[i] * (1.0 - inp[i]) for i in range(len(inp))]


# -- measurements --------------------------------------------------------------------------------

def _build(impl, sizes, bias, X):
    if impl == "naive":
        return NaiveNetwork(sizes, bias)
    import micronn
    net = micronn.Network(sizes, activation="sigmoid", output="sigmoid", bias=bias, seed=1)
    if impl == "float":
        net.fast = False
    return net


def _train_epochs(impl, net, X, Y, epochs):
    if impl == "naive":
        for _ in range(epochs):
            for x, y in zip(X, Y):
                net.train(x, y, LR)
    else:
        net.fit(X, Y, epochs=epochs, lr=LR, loss="sse", batch_size=1, shuffle=False)


def _counts(sizes, bias):
    """(parameters, multiply-adds of one forward pass) of a network of NETS."""
    if not isinstance(sizes[0], str):
        return (sum(sizes[l] * sizes[l + 1] + (sizes[l + 1] if bias else 0) for l in range(len(sizes) - 1)),
                sum(sizes[l] * sizes[l + 1] for l in range(len(sizes) - 1)))
    from micronn.shapes import CONV, DENSE, Spec
    spec = Spec(sizes)
    macs = 0
    for l in range(len(spec.rows)):
        kind, a, b = spec.rows[l][:3]
        L, C = spec.in_shape(l)
        if kind == CONV:            # each output reading: a filters of b readings of C channels
            macs += spec.shapes[l][0] * a * b * C
        elif kind == DENSE:
            macs += a * L * C
    return spec.param_count(bias), macs


def run(impl, net_name, repeats=5, epochs=4):
    sizes, bias = NETS[net_name]
    if impl == "naive" and isinstance(sizes[0], str):
        raise ValueError("%s has no naive version" % net_name)
    n_in = sizes[0]
    if isinstance(n_in, str):       # "50x3": windows flattened, channel-last
        n_in = int(n_in.split("x")[0]) * int(n_in.split("x")[1])
    # the library is compiled first, before the data's floats are scattered over the heap (and
    # its size is reported apart from the model's)
    if impl != "naive":
        import micronn
        if n_in != sizes[0]:
            import micronn.conv, micronn.shapes  # noqa: F401,E401 (what a network with convolutions imports)
    if impl == "int8":
        gc.collect()            # compiling them takes blocks of a few KB: not between the garbage of the last
        import micronn.model, micronn.quant, micronn.store  # noqa: F401,E401 (what loading an int8 model imports)
        if n_in != sizes[0]:
            import micronn.qconv  # noqa: F401 (and of one with convolutions)
    if impl == "int8-make":
        X, Y = dataset(n_in, sizes[-1], SAMPLES)
        # the float model is trained first, as a user would, then quantized and saved
        net = _build("micronn", sizes, bias, X)
        _train_epochs("micronn", net, X, Y, epochs)
        gc.collect()
        import micronn.calibrate    # noqa: F401 (compiled here, after the float model's arrays)
        q = micronn.quantize(net, X=X)
        diff = 0.0
        for x in X:
            for a, b in zip(q.predict(x), net.predict(x)):
                diff = max(diff, abs(a - b))
        q.save(TMP)
        result = {"impl": "int8", "net": net_name, "maxdiff": diff}
        print(json.dumps(result))
        return result
    if tracemalloc is not None:
        tracemalloc.start()
    result = {"impl": impl, "net": net_name}

    # the model before the data (as a board loads its model at boot, then reads its sensors): the
    # data's floats, scattered over the heap, would leave no block as large as a layer's weights
    x0 = dataset(n_in, sizes[-1], 1)[0][0]      # the data's first row (the same generator)

    def make():
        if impl == "int8":
            # the int8 model alone, loaded from its file in a fresh heap as a board does at boot
            m = micronn.load(TMP)
        else:
            m = _build(impl, sizes, bias, None)
        m.predict(x0)           # buffers made on first use count too
        return m

    before = _heap_used()
    model = make()
    if impl != "naive":
        # what the library keeps once for every model (activation tables, scratch) stays after
        # the first model is gone; the model's own bytes are those of a second one
        model = None
        shared = _heap_used() - before
        result["shared_bytes"] = shared
        before = _heap_used()
        model = make()
    used = _heap_used() - before
    if impl == "int8":
        import os
        os.remove(TMP)
    if tracemalloc is not None:
        tracemalloc.stop()
    n_params, macs = _counts(sizes, bias)
    result.update({"params": n_params, "macs": macs, "bytes_per_param": used / n_params})
    X, Y = dataset(n_in, sizes[-1], SAMPLES)
    if impl != "int8":
        result["train_us"] = _fastest(lambda: _train_epochs(impl, model, X, Y, epochs), epochs * SAMPLES,
                                      repeats)

    def infer():
        for _ in range(epochs):
            for x in X:
                model.predict(x)
    result["infer_us"] = _fastest(infer, epochs * SAMPLES, repeats)
    result["macs_per_s"] = macs / result["infer_us"] * 1e6
    print(json.dumps(result))
    return result


def main(argv):
    impl = argv[1] if len(argv) > 1 else "micronn"
    nets = argv[2:] or list(NETS)
    for name in nets:
        run(impl, name)


if __name__ == "__main__":
    main(sys.argv)
