"""A job's arrays and the model file: the micro:bit program's module mnn.

setup() makes everything a job holds and returns it as one tuple, the job:

    W, B, GW, GB, O, D, X, Y, R, Q, x = setup(...)

W, B, GW, GB, O and D are per-layer lists (LAYERED): on the board each is one name per layer
(W0, W1, ...), so they are only indexed by a layer number or passed whole.  The model comes
and goes through lib/micronn's store: write() saves it, read_weights() loads it with its CRC.

The board's stack holds about six calls: setup() does its work itself (room() and read() are
written out where they are called, see INLINE), so that the deepest calls are setup, then
zeros() or read_weights(), then fill() or crc32().
"""
import gc

from micronn.data import zeros
from micronn.rng import Random
from micronn.sizes import model_nbytes
from micronn.store import crc32, read_weights, write

from spec import BIAS, DATA, DTYPE, HEAD, ONLINE, SHUFFLE, SIZES

L = len(SIZES) - 1
NAME = "-".join([str(s) for s in SIZES])        # 3-4-1
NBYTES = model_nbytes(SIZES, BIAS, DTYPE)       # of the weights in a .mnn file
# per layer: the weights W and biases B, their gradient sums GW and GB (to train in batches),
# the outputs O and the deltas D (lists: reading one allocates nothing); how many the model has
LAYERED = {"W": L, "B": L if BIAS else 0, "GW": 0 if ONLINE else L, "GB": L if BIAS and not ONLINE else 0,
           "O": L, "D": L}
# the weight and bias arrays as (layer, 1 for biases, length), largest first
ARRAYS = tuple(sorted([(l, b, SIZES[l + 1] if b else SIZES[l] * SIZES[l + 1])
                      for l in range(L) for b in range(1 + BIAS)], key=lambda a: -a[2]))
LARGEST = ARRAYS[0][2]
INLINE = ("room", "in_file_order", "read")      # functions the board gets written out where called


def room(need):
    """Collect the heap and refuse (MemoryError) a job that needs more than is free, before it
    allocates anything."""
    gc.collect()
    if need > gc.mem_free():
        raise MemoryError("needs %d bytes of heap, %d free" % (need, gc.mem_free()))


def in_file_order(W, B):
    """The weights and biases in .mnn order (sizes.layout): per layer W, then B."""
    if BIAS:
        return [a for l in range(L) for a in (W[l], B[l])]
    return [W[l] for l in range(L)]


def read(p, P):
    """Fill the arrays P (in file order) from file p; ValueError when p holds another model, or
    is cut short or damaged (its CRC does not check)."""
    f = open(p, "rb")
    ours = f.read(len(HEAD)) == HEAD
    n, c, stored = read_weights(f, P, crc32(HEAD))
    f.close()
    if not ours or n != NBYTES or stored != c:
        raise ValueError(p + " is damaged or not a " + NAME + " model")


def setup(p, need, train, dp, n, k, state):
    """The job, after room(need): the model in file p (its weights W and biases B, and zeroed
    gradient sums GW and GB to train in batches when train), the n rows of inputs X and k
    targets Y in data file dp (MND, whose header the host checked; no rows without dp), the
    order of the rows R and, to shuffle it, a generator Q in the given state, per layer lists
    for the outputs O and the deltas D, and a list x for a row of inputs.  The arrays are made
    largest first (the data or the model): each then finds room in one piece."""
    room(need)
    x = [0.0] * SIZES[0]
    O, D = [None] * L, [None] * L
    for l in range(L):
        O[l] = [0.0] * SIZES[l + 1]
        D[l] = [0.0] * SIZES[l + 1]
    first = n * SIZES[0] >= LARGEST
    if first:
        X = zeros(DTYPE, n * SIZES[0])
        Y = zeros(DTYPE, n * k)
    W, B, GW, GB = [None] * L, [None] * L, [None] * L, [None] * L
    for l, b, size in ARRAYS:
        if b:
            B[l] = zeros(DTYPE, size)
            if not ONLINE:
                GB[l] = zeros(DTYPE, size) if train else None
        else:
            W[l] = zeros(DTYPE, size)
            if not ONLINE:
                GW[l] = zeros(DTYPE, size) if train else None
    if not first:
        X = zeros(DTYPE, n * SIZES[0])
        Y = zeros(DTYPE, n * k)
    if dp:
        f = open(dp, "rb")
        f.read(DATA)
        f.readinto(X)
        f.readinto(Y)
        f.close()
    P = in_file_order(W, B)
    read(p, P)
    R, Q = range(n), None
    if SHUFFLE:
        R = list(R)
        Q = Random()                # the copy on the board has no __init__ and no state property
        Q.hi = state >> 16
        Q.lo = state & 0xFFFF
    return W, B, GW, GB, O, D, X, Y, R, Q, x


def checkpoint(p, m):
    """Save the model of job m to file p and read it back: ValueError unless it reads back whole
    (the flash of a micro:bit has been seen to lose files)."""
    W, B, GW, GB, O, D, X, Y, R, Q, x = m
    P = in_file_order(W, B)
    f = open(p, "wb")
    write(f, HEAD, P)
    f.close()
    read(p, P)
