"""`micronn bench`: bench/onboard.py on a board, in the table `make bench` prints.

The script goes to the board's /lib once; each (implementation, network) case then runs after
a soft reset, in a fresh heap, as `make bench` runs each in a fresh process.  A case that
raises MemoryError does not fit: the table says so, with the heap the board had free.  On an
emulated board (MicroPython's QEMU port) the table has the heap and the ratios only.
"""
import json
import sys
from pathlib import Path

from .. import benchtable
from ..errors import BoardError, Interrupted, MicronnError, NotDeployed
from . import options

HELP = "measure speed and memory on the board (the table of `make bench`)"
DESCRIPTION = ("Run the benchmark of `make bench` on the board: each implementation on each network after a "
               "soft reset; prints the table (markdown) on stdout, progress on stderr.")
EXAMPLE = "micronn bench --nets 3-4-1,16-32-32-4 > board.md"

MODULE = "mnn_bench"
#: the script (as .mpy bytecode where possible: compiling it takes a small board's heap), and
#: onboard.TMP if a case died
LEFTOVERS = ("/lib/%s.py" % MODULE, "/lib/%s.mpy" % MODULE, "/_bench_int8.mnn")

LIBRARY_SIZE = """import os
n = b = 0
for name in os.listdir('/lib/micronn'):
    n += 1
    b += os.stat('/lib/micronn/' + name)[6]
print(n, b)
"""


def onboard_source():
    """bench/onboard.py: micronn_host/bench/onboard.py once installed, bench/ in a source tree."""
    here = Path(__file__).resolve().parents[1]
    for path in (here / "bench" / "onboard.py", here.parents[1] / "bench" / "onboard.py"):
        if path.is_file():
            return path.read_bytes()
    raise MicronnError("the benchmark script (bench/onboard.py) is missing from this installation")


def choose(text, known, option):
    """Names from a comma-separated option, checked against the known ones, in table order."""
    if not text:
        return list(known)
    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        if name not in known:
            raise MicronnError("%s: unknown %r; expected some of %s" % (option, name, ",".join(known)))
    return [k for k in known if k in names]


def arguments(p):
    options.port(p)
    p.add_argument("--nets", help="networks to measure, comma-separated (default: %s)" % ",".join(benchtable.NETS))
    p.add_argument("--impls", help="implementations, comma-separated (default: %s)" % ",".join(benchtable.IMPLS))


def run(args, out=print):
    from ..boards import connect
    nets = choose(args.nets, benchtable.NETS, "--nets")
    impls = choose(args.impls, benchtable.IMPLS, "--impls")
    script = onboard_source()
    with connect(args.port, soft_reset=True) as board:
        emulated = board.caps.platform in benchtable.EMULATED
        info = board.bench()
        info.update(board.identity())
        files, lib_bytes = board.exec(LIBRARY_SIZE).decode().split()
        from ..boards.deploy import bytecode
        ext, data = bytecode(board, MODULE, script.decode())
        board.repl.put("/lib/" + MODULE + ext, data)
        free = fresh_heap(board)
        rows = {}
        try:
            for net in nets:
                for impl in impls:
                    _progress("%s %s ..." % (impl, net))
                    rows[(net, impl)] = case(board, impl, net)
        finally:
            _clean(board)
    lines, notes = benchtable.table(rows, nets, impls, ratios=emulated)
    out("Measured by `micronn bench` on the board at %s: MicroPython %s, %s, %s bytes of heap free "
        "after a soft reset." % (board.port, info["release"], info["machine"], format(free, ",")))
    out("The fastest of 5 runs (each at least 20 ms), each case after a soft reset; %s" % benchtable.LEGEND)
    if emulated:
        out(benchtable.RATIO_NOTE)
    out("")
    out("### MicroPython %s on %s (%s)" % (info["release"], info["machine"], board.port))
    out("")
    for line in lines:
        out(line)
    if notes:
        out("")
        for note in notes:
            out("- " + note)
    out("")
    out("micronn %s on the board: %s bytes in %s files in /lib/micronn."
        % (info["micronn"], format(int(lib_bytes), ","), files))
    return rows


def fresh_heap(board):
    """Soft-reset the board; return its free heap."""
    board.repl.enter(soft_reset=True)
    return int(board.exec("import gc\ngc.collect()\nprint(gc.mem_free())"))


def case(board, impl, net):
    """One row of the table: each of its steps after a soft reset, in a fresh heap."""
    out = {}
    for step in benchtable.steps(impl):
        row = _step(board, step, net)
        if row is None or "nofit" in row:
            return row
        out.update(row)
    return out


def _step(board, impl, net):
    free = fresh_heap(board)
    try:
        text = board.exec("import %s\n%s.run(%r, %r)" % (MODULE, MODULE, impl, net),
                          timeout=600, interruptible=True).decode()
    except BoardError as e:
        if board.interrupted:
            raise Interrupted("benchmark stopped by Ctrl-C")
        if e.exc_type == "MemoryError":
            _progress("  does not fit: MemoryError with %s bytes free" % format(free, ","))
            return benchtable.nofit(free)
        err = board.explain(e)
        if isinstance(err, NotDeployed):
            raise err
        _progress("  failed: %s" % err)
        return None
    lines = [l for l in text.splitlines() if l.startswith("{")]
    if not lines:
        raise MicronnError("the board printed no result for %s %s (it printed %r)" % (impl, net, text[-200:]))
    return json.loads(lines[-1])


def _clean(board):
    """Remove what the benchmark left on the board (after interrupting whatever still runs)."""
    try:
        board.repl.enter()
        board.exec("import os\nfor p in %r:\n    try:\n        os.remove(p)\n    except OSError:\n"
                   "        pass\n" % (LEFTOVERS,))
    except MicronnError:
        pass


def _progress(message):
    print(message, file=sys.stderr, flush=True)
