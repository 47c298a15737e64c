"""Files on a board, done once for every board: put, get, size, listdir, remove.

Every board gets the same few board-side helpers, each defined in its REPL namespace when an
operation first needs it in a session (a micro:bit has ~9.8 KB of heap: it cannot hold or
even compile much more), and the same checks:

- put(path, data): the data goes in chunks that fit the board's longest command (62 bytes on
  a micro:bit, a few KB elsewhere), base64 where the board has binascii, else hex, into
  PATH.part; the board reads the file back and reports its size and CRC-32, and only when they
  match what was sent is it renamed over PATH.  A board without os.rename (the micro:bit)
  writes PATH itself, and it is removed when the check fails: code for such boards keeps
  generations of a file instead (boards/tiny.py).  A board that says how much flash is free
  (os.statvfs) is asked first, and data that does not fit is refused before it is sent; a write
  that fills the flash all the same (the filesystem keeps blocks for itself) is said in the same
  one line, and its part file removed.
- get(path): the board streams the file and its CRC-32; both are checked here before anything
  is returned.

The CRC and the rename are lib/micronn's own (store.crc32, store.replace), copied out of its
source: these helpers run before micronn is on a board, and on boards micronn does not fit.
"""
import ast
import binascii
import zlib

from .. import libsource
from ..errors import BoardError, MicronnError, NoRoom, TransferError


class FlashFull(MicronnError):
    """A write on the board failed: no room left on its filesystem (ENOSPC)."""


def _no_space(text):
    """Whether a board's OSError text is ENOSPC (28): "[Errno 28] ENOSPC", or "28" alone on
    firmware without errno names."""
    text = text.strip()
    return text == "28" or text.startswith("[Errno 28]") or "ENOSPC" in text

# what the board has: _fd decodes a chunk (_fe encodes one; None: hex), and whether it renames
PROBE = """import os
try:
 from binascii import a2b_base64 as _fd, b2a_base64 as _fe
except ImportError:
 _fe = None
 _fd = lambda s: bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))
print(int(_fe is not None), int(hasattr(os, 'rename')))"""
# _fk(n): the next n bytes the host sends while a command runs (on a micro:bit, from its UART)
READER = """import sys
try:
 _fk = sys.stdin.buffer.read
except AttributeError:
 from microbit import uart
 def _fk(n):
  s = b''
  while len(s) < n:
   s += uart.read(n - len(s)) or b''
  return s"""
# name: (source, the helpers it needs first); "crc32" and "replace" come from lib/micronn's
# source.  _fs: size; _fc: CRC and size of a file; _fr: receive one (chunks of k bytes, each
# asked for with "@", then its CRC and size as read back); _fg: send one.
HELPERS = {
    "_fs": ("""def _fs(p):
 try:
  return os.stat(p)[6] if hasattr(os, 'stat') else os.size(p)
 except OSError:
  return -1""", ()),
    "_fk": (READER, ()),
    "_ff": ("""def _ff(p):
 try:
  s = os.statvfs(p)
  return s[0] * s[3]
 except (OSError, AttributeError):
  return -1""", ()),
    "_fc": ("""def _fc(p):
 c = n = 0
 f = open(p, 'rb')
 while True:
  b = f.read(256)
  if not b:
   break
  c = crc32(b, c)
  n += len(b)
 f.close()
 return c, n""", ("crc32",)),
    "_fr": ("""def _fr(p, n, k):
 f = open(p, 'wb')
 g = 0
 while g < n:
  m = min(k, n - g)
  print('@')
  f.write(_fd(_fk((m + 2) // 3 * 4 if _fe else 2 * m)))
  g += m
 f.close()
 print(_fc(p))""", ("_fk", "_fc")),
    "_fg": ("""def _fg(p, k):
 c = 0
 f = open(p, 'rb')
 while True:
  b = f.read(k)
  if not b:
   break
  c = crc32(b, c)
  print(_fe(b).strip().decode() if _fe else ''.join('%02x' % x for x in b))
 f.close()
 print('#', c)""", ("crc32",)),
}
LIB = ("crc32", "replace")
GET_CHUNK = 48              # bytes per line of a download (a micro:bit's output buffer is small)
PUT_CHUNK = 384             # bytes per chunk of an upload (512 base64 characters)
SILENCE = 30.0              # seconds a transfer may pause


def transfer_limit(size):
    """Seconds a transfer of `size` bytes gets in all: 6 minutes, or longer at 100 bytes/s."""
    return max(12 * SILENCE, 60.0 + size / 100.0)


class Files:
    """File operations on a board through a RawRepl (mixed into it).  session counts the
    board's resets: the helpers are gone after one."""

    session = 0
    _helper_session = None

    def _helper(self, *names):
        """Define the named helpers (and what they need) on the board, each in a command of its
        own and only when first needed in a session: a micro:bit can neither compile them all
        at once nor spare the heap for those an operation does not use."""
        if self._helper_session != self.session:
            b64, rename = self.exec(PROBE).decode().split()
            self.base64, self.can_rename = b64 == "1", rename == "1"
            self._helper_session, self._defined = self.session, set()
        for name in names:
            if name not in self._defined:
                if name in LIB:
                    self.exec(libsource.extract([name]))
                else:
                    source, needs = HELPERS[name]
                    self._helper(*needs)
                    self.exec(source)
                self._defined.add(name)

    def _run(self, code, *helpers, **kw):
        """exec() with the named helpers defined first; a ValueError or OSError on the board is
        the user's problem, said in one line."""
        self._helper(*helpers)
        try:
            return self.exec(code, **kw)
        except BoardError as e:
            if e.exc_type == "OSError" and _no_space(str(e)):
                raise FlashFull("the board's flash is full")
            if e.exc_type in ("ValueError", "OSError"):
                raise MicronnError("%s (on the board)" % e)
            raise

    def flash_free(self, path="/"):
        """Bytes free on the board's filesystem that holds path; -1 when it does not say."""
        return int(self._run("print(_ff(%r))" % path, "_ff").decode().strip())

    def put(self, path, data, on_progress=None, disposable=False):
        """Write bytes to a board file; it replaces the old one only once checked (see above).
        The board asks for each chunk ("@"), so no more than one chunk is ever in flight: a
        micro:bit's 63-byte receive buffer drops what does not fit.  disposable: the old file
        (a data file the new one replaces) may go first when the flash cannot hold both."""
        self._helper("_fr")
        tmp = path + ".part" if self.can_rename else path
        # asked only for more than a chunk (one round trip fewer for each of deploy's small
        # files: a write that fills the flash is said all the same, below); a board without
        # os.rename, the micro:bit, has no statvfs either: boards/tiny.py counts its flash itself
        free = self.flash_free() if self.can_rename and len(data) > PUT_CHUNK else -1
        if 0 <= free < len(data) and disposable:
            old = self.size(path)
            if old > 0 and free + old >= len(data):
                self.remove(path)
                free += old
        if 0 <= free < len(data):
            raise NoRoom("%s: %d bytes do not fit on the board's flash (%d bytes free)"
                         % (path, len(data), free), free)
        if path.rfind("/") > 0:
            self._run("q = ''\nfor s in %r.split('/')[1:-1]:\n q += '/' + s\n try:\n  os.mkdir(q)\n"
                      " except OSError:\n  pass" % path)
        if self.max_command:
            k = (self.max_command - 2) // 4 * 3 if self.base64 else (self.max_command - 2) // 2
        else:
            k = PUT_CHUNK
        sent = [0]
        lines = bytearray()

        def on_output(out):
            lines.extend(out)
            while b"@\n" in lines or b"@\r\n" in lines:
                cut = lines.index(b"@")
                del lines[:lines.index(b"\n", cut) + 1]
                piece = data[sent[0]:sent[0] + k]
                sent[0] += len(piece)
                self.write(binascii.b2a_base64(piece, newline=False) if self.base64 else piece.hex().encode())
                if on_progress:
                    on_progress(sent[0], len(data))

        try:
            self._run("_fr(%r, %d, %d)" % (tmp, len(data), k), "_fr", on_output=on_output, timeout=SILENCE,
                      limit=transfer_limit(len(data)))
        except FlashFull:           # the filesystem's own blocks took more than it said was free
            self.remove(tmp)
            if free < 0:
                raise NoRoom("%s: %d bytes do not fit on the board's flash" % (path, len(data)))
            raise NoRoom("%s: %d bytes do not fit on the board's flash (%d bytes were free; the "
                         "filesystem needs some of them for itself)" % (path, len(data), free), free)
        got = ast.literal_eval(lines.decode().strip())
        if got != (zlib.crc32(data), len(data)):
            self.remove(tmp)
            raise TransferError("%s arrived damaged on the board: %d bytes, CRC %08x there; %d bytes, CRC %08x sent"
                               % (path, got[1], got[0], len(data), zlib.crc32(data)))
        if tmp != path:
            self._run("replace(%r, %r)" % (tmp, path), "replace")

    def get(self, path, on_progress=None):
        """The bytes of a board file, its size and CRC-32 checked."""
        size = self.size(path)
        if size < 0:
            raise TransferError("%s is not on the board" % path)
        parts = []
        crc = [None]
        pending = bytearray()

        def feed(data):
            pending.extend(data)
            while b"\n" in pending:
                cut = pending.index(b"\n")
                line = pending[:cut].decode().strip()
                del pending[:cut + 1]
                if line.startswith("#"):
                    crc[0] = int(line[1:])
                elif line:
                    parts.append(binascii.a2b_base64(line) if self.base64 else bytes.fromhex(line))
                    if on_progress:
                        on_progress(sum(map(len, parts)), size)

        self._run("_fg(%r, %d)" % (path, GET_CHUNK), "_fg", on_output=feed, timeout=SILENCE,
                  limit=transfer_limit(size))
        feed(b"\n")
        data = b"".join(parts)
        if crc[0] is None or len(data) != size or zlib.crc32(data) != crc[0]:
            raise TransferError("%s arrived damaged (%d bytes, CRC %08x; the board has %d bytes, CRC %s)"
                               % (path, len(data), zlib.crc32(data), size,
                                  "%08x" % crc[0] if crc[0] is not None else "not sent"))
        return data

    def size(self, path):
        """Size of a board file in bytes, -1 when there is none."""
        return int(self._run("print(_fs(%r))" % path, "_fs").decode().strip())

    def listdir(self, directory=""):
        """{name: size} of the files in a board directory ("": the current one; missing: {})."""
        prefix = directory.rstrip("/") + "/" if directory else ""
        code = ("try:\n l = os.listdir(*%r)\nexcept OSError:\n l = []\nprint([(n, _fs(%r + n)) for n in l])"
                % ((directory,) if directory else (), prefix))
        return dict(ast.literal_eval(self._run(code, "_fs").decode().strip()))

    def remove(self, path):
        """Remove a board file if it is there."""
        self.exec("import os\ntry:\n os.remove(%r)\nexcept OSError:\n pass" % path)
