"""Training on a fragmented heap: plenty free, but no free block as large as a copy of the
data set (long-lived objects scattered through it, as a board's heap gets).  fit(), evaluate() and
predict_many() read the data where it is, in pieces no larger than a few hundred bytes, and
the random generator draws without making integer objects, so all of them still run."""

# MicroPython: fill the heap with pairs (a 500-byte block, a kept small object), then free the
# blocks: about half the heap is free, in holes of a few hundred bytes (a few merge into more)
FRAGMENT = """
import gc, micropython
def fragment():
    keep = None
    for _ in range(6):                  # again where a pass left a large free block
        gc.collect()
        gc.disable()                    # in order, through every free block
        holes = None
        try:
            while True:
                holes = (holes, bytearray(500))     # freed below: the holes
                keep = (keep, bytearray(8))         # what stays, between them
        except MemoryError:
            pass
        holes = None
        gc.enable()
        gc.collect()
        if largest() < 1536:
            break
    return keep
def largest(step=64):
    # the largest single allocation that still succeeds, to `step` bytes
    size = step
    while True:
        try:
            b = bytearray(size + step)
            b = None
            size += step
        except MemoryError:
            return size
"""

FIT = FRAGMENT + """
import array, json, micronn
from micronn.rng import Random
r = Random(3)
X = [[r.random() for _ in range(16)] for _ in range(64)]        # 4 KB of samples as float32
Y = [[1.0 if k == i %% 4 else 0.0 for k in range(4)] for i in range(64)]
net = micronn.Network([16, 12, 4], activation=%r, output="sigmoid", seed=1)
net.fit(X[:2], Y[:2], epochs=1, lr=0.1)     # its scratch, made once, while the heap is whole
q = micronn.quantize(net, X=X[:4])
q.predict(X[0])
keep = fragment()
gc.collect()
free, big = gc.mem_free(), largest()
try:
    array.array("f", bytearray(4 * 16 * 64))
    copied = True
except MemoryError:
    copied = False
loss = net.fit(X, Y, epochs=3, lr=0.5, loss="mse", batch_size=%r, optimizer=%r, shuffle=True)
ev = net.evaluate(X, Y)
pm = net.predict_many(X)
qm = q.predict_many(X)
keep = None
print(json.dumps([free, big, copied, loss, ev, len(pm), len(qm)]))
"""


def fragmented_fit(rt, act, bs, opt):
    return rt.run(FIT % (act, bs, opt), heap="256k")


def test_fit_evaluate_and_predict_many_run_on_a_fragmented_heap(micropython):
    for act, bs, opt in (("sigmoid", 1, "sgd"), ("relu", 8, "momentum")):
        free, big, copied, loss, ev, n_pred, n_q = fragmented_fit(micropython, act, bs, opt)
        # plenty free, more than ten times a copy of the data set, but no block it would fit in
        assert free > 48 * 1024 and big < 4096 and not copied, (free, big, copied)
        assert loss - loss == 0.0 and ev - ev == 0.0        # trained: finite losses
        assert n_pred == n_q == 64


def test_the_same_training_with_a_whole_heap(micropython):
    """Fragmentation changes where things go, not what is computed."""
    code = FIT.replace("keep = fragment()", "keep = None")
    whole = micropython.run(code % ("sigmoid", 1, "sgd"), heap="256k")
    frag = fragmented_fit(micropython, "sigmoid", 1, "sgd")
    assert whole[3:] == frag[3:]


def test_drawing_random_numbers_makes_no_objects(upy):
    """xorshift on 16-bit halves: no integer object on a 32-bit port (31-bit small ints), where
    the 32-bit state used to make one per step.  Only a 32-bit runtime (the emulated M4F board,
    MICRONN_MP32F) can tell: the 64-bit unix port's small ints hold 32 bits either way."""
    got = upy.run("""
import gc, json
from micronn.rng import Random
r = Random(5)
order = list(range(1000))
gc.collect()
gc.disable()
before = gc.mem_alloc()
for _ in range(200):
    r.randbelow(997)
r.shuffle(order)
used = gc.mem_alloc() - before
gc.enable()
print(json.dumps(used))
""")
    assert got <= 64, got
