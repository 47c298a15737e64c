"""`micronn record`: collect labelled rows from the board's sensors into a CSV file here."""
import csv
import os
import sys

from ..errors import DataError, Interrupted, MicronnError
from ..progress import Bar
from . import options

HELP = "record labelled rows from the board's sensors into a CSV file"
DESCRIPTION = ("Read the board's sensors RATE times a second - the read() function of a module on the board "
               "(--module, default sensors: return a number or a list of numbers; an optional start(label) is "
               "called first) or analog pins (--adc) - and append each row, labelled --label, to a CSV file "
               "here (with a header line when the file is new). --window W puts W consecutive readings into "
               "one row. The board timestamps each reading with ticks_ms; the rate it achieved is reported at "
               "the end. Ctrl-C stops, and keeps every row recorded so far.")
EXAMPLE = "micronn record gestures.csv --label circle --module accel --rate 50 --window 25 --rows 40"


def arguments(p):
    options.port(p)
    p.add_argument("file", help="the CSV file to append to")
    p.add_argument("--label", required=True, help="the class of every row of this recording (its last column)")
    p.add_argument("--module", default=None, help="the module on the board whose read() gives one reading "
                   "(default: sensors)")
    p.add_argument("--adc", metavar="PINS", help="read these analog pins instead (comma-separated; read_u16: 0-65535)")
    p.add_argument("--rate", type=float, default=10.0, metavar="HZ", help="readings a second (default 10)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this long")
    p.add_argument("--rows", type=int, default=0, help="stop after this many rows (default: with --seconds, no "
                   "limit; else 10)")
    p.add_argument("--window", type=int, default=1, help="readings per row, flattened (default 1)")
    p.add_argument("--columns", help="names of one reading's values, comma-separated (default: v0, v1, ...; an "
                   "existing file keeps its header)")


def header(names, width, window):
    """The CSV header for rows of `window` readings of `width` values each, then the label."""
    if names and len(names) != width:
        raise MicronnError("--columns names %d values, but one reading has %d" % (len(names), width))
    names = names or ["v%d" % i for i in range(width)]
    if window == 1:
        return names + ["label"]
    return ["%s_%d" % (n, t) for t in range(window) for n in names] + ["label"]


def run(args, out=print):
    from ..boards import connect
    if not 0 < args.rate <= 10000:
        raise MicronnError("--rate must be a number of readings a second above 0 and at most 10000, got %s" % args.rate)
    if args.rows < 0 or args.window < 1 or not 0 <= args.seconds < float("inf"):
        raise MicronnError("--rows must be >= 0, --window >= 1 and --seconds a finite number >= 0")
    rows = args.rows or (0 if args.seconds else 10)
    if args.adc and args.module:
        raise MicronnError("--adc and --module: give one of them")
    if "," in args.label or "\n" in args.label or not args.label.strip():
        raise MicronnError("--label %r: a class name without commas or newlines" % args.label)
    source = args.module or "sensors"
    if args.adc:
        try:
            source = [int(p) for p in args.adc.split(",")]
        except ValueError:
            raise MicronnError("--adc %r: pin numbers separated by commas, e.g. 26,27,28" % args.adc)
    names = [c.strip() for c in args.columns.split(",")] if args.columns else None
    existing = None
    if os.path.exists(args.file) and os.path.getsize(args.file):
        with open(args.file, newline="") as f:
            existing = next(csv.reader(f), None)
    total = rows or max(1, int(args.seconds * args.rate / args.window))
    bar = Bar(total, unit="row")
    state = {"f": None, "n": 0, "width": None}

    def on_row(ms, values):
        if state["f"] is None:
            width = len(values) // args.window
            head = header(names, width, args.window)
            if existing is not None:
                if len(existing) != len(head):
                    raise DataError("%s has %d columns, but these rows have %d (%d readings of %d values and the "
                                    "label): record into another file" % (args.file, len(existing), len(head),
                                                                            args.window, width))
            state["f"] = open(args.file, "a", newline="")
            if existing is None:
                state["f"].write(",".join(head) + "\n")
        state["f"].write(",".join(repr(v) if v != int(v) else "%d" % v for v in values) + "," + args.label + "\n")
        state["f"].flush()
        state["n"] += 1
        bar.update(min(state["n"], total), None, extra="%s" % args.label)

    try:
        with connect(args.port, soft_reset=True) as board:
            try:
                res = board.record(source, args.label, args.rate, rows, args.seconds, args.window, on_row)
            except Interrupted:
                raise Interrupted("stopped waiting for the board; the %d rows recorded are in %s"
                                  % (state["n"], args.file))
    finally:
        bar.close()
        if state["f"] is not None:
            state["f"].close()
    if res.get("readings", 0) > 1 and res.get("span_ms"):
        rate = (res["readings"] - 1) * 1000.0 / res["span_ms"]
        achieved = ", %.1f readings a second (asked %g)" % (rate, args.rate)
    else:
        achieved = ""
    msg = "recorded %d rows labelled %s into %s%s" % (state["n"], args.label, args.file, achieved)
    if res.get("stopped"):
        print("micronn: stopped by Ctrl-C; %s" % msg, file=sys.stderr)
        return 130
    out(msg)
