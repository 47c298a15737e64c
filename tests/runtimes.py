"""The Python implementations lib/micronn's tests run on, and how code is run there.

A runtime runs snippets with lib/ importable.  A snippet is plain code that prints
json.dumps(...) of what it computed as its last line.

- run(code) starts a fresh process for the one snippet (raises(code) for one that must raise):
  for tests that measure the heap or need their own interpreter (a heap size, a working
  directory).
- run_batch({key: code}) runs many independent snippets in one interpreter, each case in a
  namespace of its own, its output and exception captured per case, the heap collected between
  cases.  It returns {key: Result}.

The batch protocol is HARNESS (defines case(number, src), which runs src and prints one tagged
line with the number, the output and the exception) followed by one case(...) call per snippet.
A process runtime sends the calls as a file the harness reads line by line; a board runtime can
send HARNESS once over the raw REPL, then each call as a command of its own, and parse the same
tagged lines.
"""
import functools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from micronn_host.executables import find_micropython

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
TAG = "@@case "

# Portable (CPython and MicroPython): exec with a namespace dict, a print of our own that
# keeps the output, and the exception's traceback from whichever module the runtime has.
HARNESS = "_TAG = %r\n" % TAG + r'''
import gc, json, sys

def _trace(e):
    try:
        import traceback
        return "".join(traceback.format_exception(type(e), e, e.__traceback__))
    except ImportError:
        import io
        s = io.StringIO()
        sys.print_exception(e, s)
        return s.getvalue()

def case(number, src):
    out = []
    def keep(*args, **kw):
        out.append(kw.get("sep", " ").join([str(a) for a in args]) + kw.get("end", "\n"))
    ns = {"__name__": "__main__", "print": keep}
    err = None
    try:
        exec(src, ns)
    except Exception as e:
        err = [type(e).__name__, str(e), _trace(e)]
    ns.clear()
    ns = None
    gc.collect()
    sys.stdout.write(_TAG + json.dumps([number, "".join(out), err]) + "\n")
    flush = getattr(sys.stdout, "flush", None)
    if flush:
        flush()
'''

# the process runtimes' driver: one case per line of the file, as [number, src]
DRIVER = r'''
with open(%r) as _cases:
    while True:
        _line = _cases.readline()
        if not _line:
            break
        case(*json.loads(_line))
        _line = None
'''


class CaseFailed(AssertionError):
    pass


class Result:
    """What one case of a batch did: `out` what it printed, `error` (type name, message,
    traceback) if it raised."""

    def __init__(self, runtime, key, src, out, error):
        self.runtime, self.key, self.src, self.out, self.error = runtime, key, src, out, error

    def _fail(self, why):
        src = "\n".join("%4d  %s" % (i + 1, l) for i, l in enumerate(self.src.splitlines()))
        raise CaseFailed("case %r on %s %s\n--- case source ---\n%s" % (self.key, self.runtime, why, src))

    @property
    def value(self):
        """The JSON value of the last line the case printed; a failure naming the case if it
        raised or printed nothing."""
        if self.error:
            self._fail("raised %s: %s\n%s" % tuple(self.error))
        lines = self.out.strip().split("\n")
        if not lines[-1]:
            self._fail("printed nothing")
        return json.loads(lines[-1])

    def raised(self):
        """(exception type name, message) for a case that must raise; ('no exception', '')
        when it did not."""
        return tuple(self.error[:2]) if self.error else ("no exception", "")


class RunFailed(Exception):
    pass


class Runtime:
    """One Python implementation run as a process: `argv` starts it, `env` makes lib/ importable.
    `kind` is "cpython" or "micropython" (what a test may expect of the implementation)."""

    board = False           # a process of this computer (board_runtime.BoardRuntime is not)

    def __init__(self, name, argv, env, kind):
        self.name, self.argv, self.env, self.kind = name, argv, env, kind
        self.float32 = name in FLOAT32

    def __repr__(self):
        return self.name

    def _argv(self, heap):
        if heap and self.kind == "micropython":
            return self.argv[:1] + ["-X", "heapsize=%s" % heap] + self.argv[1:]
        return list(self.argv)

    def run(self, code, heap=None, timeout=300, cwd=None):
        """Run one snippet in a fresh process; the JSON value of the last line it printed."""
        proc = subprocess.run(self._argv(heap) + ["-c", textwrap.dedent(code)], capture_output=True,
                              text=True, env=self.env, timeout=timeout, cwd=cwd)
        if proc.returncode != 0:
            raise RunFailed("%s exited with %d:\n%s%s" % (self.name, proc.returncode, proc.stdout, proc.stderr))
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise RunFailed("%s printed nothing; stderr:\n%s" % (self.name, proc.stderr))
        return json.loads(lines[-1])

    def raises(self, code, setup="import micronn"):
        """Run code that must raise, in a fresh process; (exception type name, message), or
        ('no exception', '').  Many such cases run faster as one run_batch."""
        body = textwrap.indent(textwrap.dedent(code), "    ")
        snippet = ("import json\n%s\ntry:\n%s\n    print(json.dumps(['no exception', '']))\n"
                   "except Exception as e:\n    print(json.dumps([type(e).__name__, str(e)]))\n"
                   % (textwrap.dedent(setup), body))
        return tuple(self.run(snippet))

    def run_batch(self, cases, timeout=600):
        """Run {key: code} in one interpreter, in order; {key: Result}.  When the interpreter
        dies, the case it was running and those after it get an error saying so."""
        keys = list(cases)
        srcs = [textwrap.dedent(cases[k]) for k in keys]
        with tempfile.TemporaryDirectory(prefix="micronn-batch-") as tmp:
            path = os.path.join(tmp, "cases.jsonl")
            with open(path, "w") as f:
                for i, src in enumerate(srcs):
                    f.write(json.dumps([i, src]) + "\n")
            try:
                proc = subprocess.run(self.argv + ["-c", HARNESS + DRIVER % path], capture_output=True,
                                      env=self.env, timeout=timeout, cwd=tmp)
                stdout, stderr, ended = proc.stdout, proc.stderr, "exit code %d" % proc.returncode
            except subprocess.TimeoutExpired as e:
                stdout, stderr, ended = e.stdout or b"", e.stderr or b"", "a timeout of %ss" % timeout
        results = {}
        for line in stdout.decode("utf-8", "replace").split("\n"):
            if line.startswith(TAG):
                i, out, err = json.loads(line[len(TAG):])
                results[keys[i]] = Result(self.name, keys[i], srcs[i], out, err)
        missing = [i for i, k in enumerate(keys) if k not in results]
        for i in missing:
            why = ("the interpreter ended (%s) while running it; stderr:\n%s"
                   % (ended, stderr.decode("utf-8", "replace")) if i == missing[0] else
                   "not run: the interpreter ended during case %r" % (keys[missing[0]],))
            results[keys[i]] = Result(self.name, keys[i], srcs[i], "", ["BatchDied", why, ""])
        return results


MP32F = "MICRONN_MP32F"     # the path of a float32 MicroPython unix build: lib's tests run there too
#: m4f: the emulated Cortex-M4F board, a 32-bit float32 MicroPython (board_runtime.py)
NAMES = ("cpython", "micropython", "mp32f", "m4f")
BOARDS = ("m4f",)           # runtimes that are boards: no processes, files only as copies
FLOAT32 = ("mp32f", "m4f")  # runtimes whose float is float32


@functools.cache
def get(name):
    """The runtime called name (one of NAMES), or None when it is not on this machine."""
    if name == "m4f":
        import atexit
        from board_runtime import BoardRuntime
        from m4f_support import firmware
        path = firmware()
        if path is None:
            return None
        rt = BoardRuntime(name, path)
        atexit.register(rt.close)
        return rt
    if name == "cpython":
        return Runtime("cpython", [sys.executable], dict(os.environ, PYTHONPATH=str(LIB)), "cpython")
    exe = find_micropython() if name == "micropython" else os.environ.get(MP32F)
    if not exe:
        return None
    return Runtime(name, [exe], dict(os.environ, MICROPYPATH=".frozen:" + str(LIB)), "micropython")
