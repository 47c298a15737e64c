"""Rows of a data file read where they are, so a data set may be larger than the heap.

The data file ("MND", version 1, written by the host: micronn_host.dataset.pack), little-endian:
b"MND\\x01", uint32 rows, uint16 inputs, uint16 outputs, then every row's inputs as float32,
then every row's outputs as float32.

    d = DataFile("/data/train.mnd")
    net.fit(d.X, d.Y, epochs=50)        # rows read from the file as fit() asks for them
    d.close()

d.X and d.Y are Rows: rows[i] is row i in a float32 array that each access refills (so it is
valid until the next access of the same Rows).  Each Rows has one buffer of `chunk` rows,
allocated once: read in order (evaluate, a full batch, a pass without shuffling), a whole chunk
comes in with one readinto; read out of order (a shuffled epoch: an index permutation), only
the row asked for.  No access allocates.  What stays in the heap is the buffers (about
CHUNK_BYTES in all) and the open file, whatever the number of rows.  A file's values are checked once (finite numbers), on the
first check_rows() of its rows.
"""
import struct

from .data import copy_row, zeros
from .exact import copy32

MAGIC = b"MND\x01"
HEAD = 12                   # the magic, rows, inputs and outputs
CHUNK_BYTES = 2048          # what the two chunk buffers of a data file take together


def header(head, path):
    """(rows, inputs, outputs) of a data file's first HEAD bytes; ValueError if it is not one."""
    if len(head) != HEAD or head[:4] != MAGIC:
        raise ValueError("%s is not a micronn data file" % path)
    return struct.unpack("<IHH", head[4:])


def chunk_rows(n_in, n_out, chunk_bytes=CHUNK_BYTES):
    """Rows per chunk for rows of n_in inputs and n_out outputs."""
    return max(1, chunk_bytes // (4 * (n_in + n_out)))


def nbytes(n_in, n_out, chunk_bytes=CHUNK_BYTES):
    """Bytes of the buffers a DataFile of such rows allocates (what it keeps in the heap
    besides the open file)."""
    return 4 * chunk_rows(n_in, n_out, chunk_bytes) * (n_in + n_out)


class DataFile:
    """A data file open for reading: n rows of n_in inputs (X) and n_out outputs (Y, None for
    a file of inputs only)."""

    def __init__(self, path, chunk_bytes=CHUNK_BYTES):
        try:
            f = open(path, "rb")
        except OSError:
            raise ValueError("no data file %s" % path)
        try:
            self.n, self.n_in, self.n_out = header(f.read(HEAD), path)
            if self.n < 1 or self.n_in < 1:
                raise ValueError("%s holds no rows" % path)
            self.path, self.f = path, f
            k = chunk_rows(self.n_in, self.n_out, chunk_bytes)
            self.chunk = k
            self.X = Rows(self, HEAD, self.n_in, k, "X")
            self.Y = Rows(self, HEAD + 4 * self.n * self.n_in, self.n_out, k, "Y") if self.n_out else None
        except BaseException:
            f.close()
            raise

    def check(self, n_in, n_out=None, what="the network"):
        """ValueError unless rows have n_in inputs and (n_out not None) n_out outputs."""
        if self.n_in != n_in or (n_out is not None and self.n_out != n_out):
            raise ValueError("%s has %d inputs and %d outputs per row; %s has %d and %d"
                             % (self.path, self.n_in, self.n_out, what, n_in, self.n_out if n_out is None else n_out))

    def read(self, at, view):
        """Fill the memoryview `view` from byte `at` of the file."""
        f = self.f
        f.seek(at)
        want = 4 * len(view)
        if f.readinto(view) != want:
            raise ValueError("%s is truncated" % self.path)

    def close(self):
        self.f.close()


class Rows:
    """One block of a data file (the inputs or the outputs) as a sequence of rows: rows[i] is
    row i, read from the file: one float32 array of `width` values, the same one each time."""

    streamed = True             # what data.check_rows looks for; rows[i] is float32 (copied as bits)

    def __init__(self, file, at, width, chunk, name):
        self.file, self.at, self.width, self.chunk, self.name = file, at, width, chunk, name
        self.n = file.n
        self.buf = zeros("f", chunk * width)
        self.view = memoryview(self.buf)
        self.row = zeros("f", width)
        self.rview = memoryview(self.row)
        self.first = self.count = 0     # rows first .. first + count - 1 are in buf
        self.next = -1                  # the row after the last one asked for
        self.checked = 0                # the width the values were checked for (0: not yet)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError("row %d of %d" % (i, self.n))
        w = self.width
        if self.first <= i < self.first + self.count:
            copy32(self.buf, (i - self.first) * w, self.row, w)
        elif i == self.next and self.chunk > 1:         # in order: the next chunk of rows
            k = min(self.chunk, self.n - i)
            self.count = 0
            self.file.read(self.at + 4 * i * w, self.view[:k * w] if k < self.chunk else self.view)
            self.first, self.count = i, k
            copy32(self.buf, 0, self.row, w)
        else:                                           # out of order: this row only
            self.file.read(self.at + 4 * i * w, self.rview)
        self.next = i + 1
        return self.row

    def check(self, width, name, what):
        """The number of rows, after checking (once) that they are rows of `width` finite
        numbers; errors as data.check_rows words them."""
        if width != self.width:
            raise ValueError("%s has rows of %d values in %s, expected %d (%s)"
                             % (name, self.width, self.file.path, width, what))
        if self.checked != width:
            for r in range(self.n):
                copy_row(self[r], 0, width, None, 0, name, r)
            self.checked = width
        return self.n
