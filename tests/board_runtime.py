"""lib/micronn's test snippets on a board: the emulated Cortex-M4F (QEMU's mps2-an386, a 32-bit
MicroPython with float32 floats), driven over its raw REPL.  A runtime like those of runtimes.py
(run, raises, run_batch), with what a board changes:

- One board for the whole session, started on first use with micronn deployed as a user has
  it (`micronn deploy`: .mpy files, the viper modules as native armv7emsp code).
- run_batch sends runtimes.HARNESS once after a soft reset, then each case as a command of its
  own: one connection runs many cases, and the tagged lines come back as from a process.  The
  heap is 192 KB: when a case leaves less than LOW_HEAP free, or raises MemoryError, the board
  gets a soft reset (a fresh heap) and the harness again; a case that raised MemoryError runs
  once more in the fresh heap, and only that second answer counts.
- Files: the cases name files on this computer (pytest's temporary directories).  Before a batch
  the directories they name are copied to the same paths on the board's RAM disk, and after it
  copied back (files the cases wrote, changed or removed), then removed from the board.
- No processes: argv, env, cwd and a heap size other than the board's do not exist here.

A case that ends the interpreter (SystemExit) makes the board soft-reset: that case and those
after it get a BatchDied error, as when a process dies.
"""
import json
import os
import re
import tempfile
import textwrap

from runtimes import TAG, Result, RunFailed

LOW_HEAP = 64 * 1024        # soft-reset before the next case when less than this is free
MAX_SOURCE = 32 * 1024      # a case's source must fit, about three times over, to be compiled
HEAP = 192 * 1024           # the firmware's GC heap
#: host paths the cases may name (pytest's and tempfile's directories), and what ends one
TMP = os.path.realpath(tempfile.gettempdir())
PATH_IN_SOURCE = re.compile(r"%s/[^'\"\s\\]+" % re.escape(TMP))

# runtimes.HARNESS keeps a case's output and sends it in its tagged line: on a 192 KB heap that
# holds each large output several times over (the strings, their join, the JSON of the line).
# Here the output goes straight out between two tagged lines; the same Result comes of it.
# The board collects its garbage every GC_EVERY bytes allocated (gc.threshold), as a program
# that runs for long on a board should: by default MicroPython collects only when the heap is
# full, and the floats a case keeps after a training (1500 losses as a list, to print them)
# land one by one in the gaps between the training's garbage, so that once it is collected the
# free heap is in pieces (the article's case: MemoryError for 15 KB with 100 KB free).
GC_EVERY = 16 * 1024
HARNESS = "_TAG = %r\n" % TAG + r'''
import gc, json, sys
gc.threshold(%d)
''' % GC_EVERY + r'''

def _trace(e):
    import io
    s = io.StringIO()
    sys.print_exception(e, s)
    return s.getvalue()

def case(number, src):
    ns = {"__name__": "__main__"}
    err = None
    sys.stdout.write(_TAG + "begin %d\n" % number)
    try:
        exec(src, ns)
    except Exception as e:
        err = [type(e).__name__, str(e), _trace(e)]
    ns.clear()
    ns = None
    gc.collect()
    sys.stdout.write("\n" + _TAG + json.dumps([number, err]) + "\n")
'''

# board helpers: _mw(d) lists a directory tree as [(path, size or -1 for a directory)];
# _mr(d) removes one
WALK = """import os, gc
def _mw(d):
    out = []
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return out
    for e in entries:
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            out.append((p, -1))
            out.extend(_mw(p))
        else:
            out.append((p, os.stat(p)[6]))
    return out
def _mr(d):
    for p, size in reversed(_mw(d)):
        if size < 0:
            os.rmdir(p)
        else:
            os.remove(p)
    try:
        os.rmdir(d)
    except OSError:
        pass
def _mf():
    gc.collect()
    return gc.mem_free()
"""


class BoardRuntime:
    """The emulated M4F board as a runtime of lib's tests (see the module docstring)."""

    kind = "micropython"
    float32 = True          # float is float32: checks that need float64 do not apply
    board = True            # no processes, and files only as copies (see above)

    def __init__(self, name, firmware):
        self.name, self.firmware = name, firmware
        self.emulator = self.repl = None
        self.deploy_output = []
        self.resets = 0

    def __repr__(self):
        return self.name

    # -- the board ------------------------------------------------------------------------------

    def start(self):
        from micronn_host.boards import connect
        from micronn_host.sim.qemu import Emulator
        self.emulator = Emulator("m4f", firmware=self.firmware)
        self.emulator.start()
        try:
            with connect(self.emulator.port, soft_reset=True) as board:
                board.deploy(out=self.deploy_output.append)
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        if self.repl is not None:
            self.repl.close()
            self.repl = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    def _connect(self):
        from micronn_host.transport.rawrepl import RawRepl
        if self.emulator is None:
            self.start()
        if self.repl is None:
            self.repl = RawRepl(self.emulator.port)
            self.repl.enter()
        return self.repl

    def _fresh(self):
        """A soft reset: a fresh heap, the harness and the helpers defined again."""
        repl = self._connect()
        repl.enter(soft_reset=True)
        self.resets += 1
        repl.exec(WALK)
        repl.exec(HARNESS)

    def _free(self):
        return int(self.repl.exec("print(_mf())").decode())

    # -- the runtime ----------------------------------------------------------------------------

    def run(self, code, heap=None, timeout=300, cwd=None):
        """One snippet in a fresh heap; the JSON value of the last line it printed."""
        if cwd is not None:
            raise RunFailed("%s has no working directory of this computer (cwd=%r)" % (self.name, cwd))
        if heap and _bytes(heap) < HEAP:
            raise RunFailed("%s has a %d KB heap, not %s" % (self.name, HEAP // 1024, heap))
        res = self.run_batch({"run": code}, timeout=timeout)["run"]
        if res.error:
            raise RunFailed("%s raised %s: %s\n%s" % ((self.name,) + tuple(res.error)))
        return res.value

    def raises(self, code, setup="import micronn"):
        """Run code that must raise, in a fresh heap; (exception type name, message), or
        ('no exception', '')."""
        src = textwrap.dedent(setup) + "\n" + textwrap.dedent(code)
        return self.run_batch({"raises": src})["raises"].raised()

    def run_batch(self, cases, timeout=600):
        """Run {key: code} on the board, in order, after a soft reset; {key: Result}."""
        from micronn_host.errors import BoardError, MicronnError
        keys = list(cases)
        srcs = [textwrap.dedent(cases[k]) for k in keys]
        dirs = self._directories(srcs)
        self._fresh()
        self._copy_in(dirs)
        results = {}
        died = None
        for i, key in enumerate(keys):
            if len(srcs[i]) > MAX_SOURCE:
                results[key] = Result(self.name, key, srcs[i], "", [
                    "MemoryError", "not sent: %d bytes of source, more than %s compiles in its %d KB heap"
                    % (len(srcs[i]), self.name, HEAP // 1024), ""])
                continue
            for attempt in (1, 2):
                try:
                    out = self.repl.exec("case(%d, %r)" % (i, srcs[i]), timeout=timeout).decode("utf-8", "replace")
                except BoardError as e:     # the command itself failed: no room to compile it?
                    self._fresh()
                    if e.exc_type == "MemoryError" and attempt == 1:
                        continue
                    results[key] = Result(self.name, key, srcs[i], "", [
                        e.exc_type, "outside the case (compiling it?): %s" % e, e.traceback])
                    break
                except MicronnError as e:   # a reset (SystemExit soft-resets a board), silence
                    died = "the board ended the batch while running it (%s: %s)" % (type(e).__name__, e)
                    break
                got = _parse(out)
                if got is None:     # SystemExit: the board's REPL ends the command and soft-resets
                    died = ("the board's interpreter ended while running it, with no result (it printed %r)"
                            % out[-300:])
                    break
                printed, err = got
                low = self._free() < LOW_HEAP
                if attempt == 1 and err and err[0] == "MemoryError":
                    self._fresh()           # a fragmented heap: once more in a fresh one
                    continue
                results[key] = Result(self.name, key, srcs[i], printed, err)
                if low:
                    self._fresh()
                break
            if died:
                for j in range(i, len(keys)):
                    why = died if j == i else "not run: the interpreter ended during case %r" % (key,)
                    results[keys[j]] = Result(self.name, keys[j], srcs[j], "", ["BatchDied", why, ""])
                self.repl.close()
                self.repl = None            # connect again, for the files
                self._fresh()
                break
        self._copy_out(dirs)
        return results

    # -- files named by the cases ---------------------------------------------------------------

    @staticmethod
    def _directories(srcs):
        """The host directories the cases name files in (the parent of each path), outermost
        first, none inside another; never the temporary directory itself."""
        found = set()
        for src in srcs:
            for path in PATH_IN_SOURCE.findall(src):
                d = os.path.dirname(path.rstrip("/"))
                if d.startswith(TMP + "/"):
                    found.add(d)
        out = []
        for d in sorted(found, key=len):
            if not any(d == o or d.startswith(o + "/") for o in out):
                out.append(d)
        return out

    def _copy_in(self, dirs):
        for d in dirs:
            self.repl.exec("_mr(%r)" % d)           # what an earlier batch may have left
            self._mkdirs(d)
            if not os.path.isdir(d):
                continue
            for root, subdirs, files in os.walk(d):
                for s in subdirs:
                    self._mkdirs(os.path.join(root, s))
                for f in files:
                    with open(os.path.join(root, f), "rb") as fh:
                        self.repl.put(os.path.join(root, f), fh.read())

    def _mkdirs(self, d):
        self.repl.exec("import os\np = ''\nfor s in %r.split('/')[1:]:\n p += '/' + s\n try:\n  os.mkdir(p)\n"
                       " except OSError:\n  pass" % d)

    def _copy_out(self, dirs):
        """Make each host directory what the board has there, then remove it from the board."""
        import ast
        import shutil
        for d in dirs:
            there = dict(ast.literal_eval(self.repl.exec("print(_mw(%r))" % d).decode().strip()))
            os.makedirs(d, exist_ok=True)
            for root, subdirs, files in os.walk(d, topdown=False):
                for f in files:
                    p = os.path.join(root, f)
                    if there.get(p, -1) < 0:
                        os.remove(p)
                for s in subdirs:
                    p = os.path.join(root, s)
                    if there.get(p) == -1:
                        continue
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p)
                    else:
                        os.remove(p)
            for p, size in sorted(there.items()):
                if size < 0:
                    os.makedirs(p, exist_ok=True)
                else:
                    data = self.repl.get(p)
                    if os.path.isfile(p):
                        with open(p, "rb") as fh:
                            if fh.read() == data:
                                continue
                    with open(p, "wb") as fh:
                        fh.write(data)
            self.repl.exec("_mr(%r)" % d)


def _parse(out):
    """(what a case printed, its error) from the harness's lines, None if it did not end."""
    out = out.replace("\r\n", "\n")
    head = out.find(TAG + "begin ")
    tail = out.rfind("\n" + TAG)
    if head < 0 or tail < head:
        return None
    start = out.index("\n", head) + 1
    return out[start:tail], json.loads(out[tail + 1 + len(TAG):].strip())[1]


def _bytes(heap):
    s = str(heap).lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(s[-1:], 1)
    return int(s.rstrip("km")) * scale
