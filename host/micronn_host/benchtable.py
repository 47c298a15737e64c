"""The benchmark table, one format for `make bench` (bench/run.py) and `micronn bench`.

A table has one row per (network, implementation) in the order of NETS and IMPLS.  A row is
what bench/onboard.py's run() printed (a dict), NOFIT with the free heap when the case raised
MemoryError, or None when it failed otherwise.  The ratios against the naive baseline are
computed here from the rows, never measured apart.
"""
NETS = ["3-4-1", "16-32-32-4", "64-64-10", "150-20-3", "50x3-conv8k5-maxpool2-16-3"]
IMPLS = ["naive", "micronn", "float", "int8"]
# the runs of bench/onboard.py, each in a fresh heap, whose results make one row (merged in order)
STEPS = {"int8": ("int8-make", "int8")}
NAMES = {"naive": "naive lists", "micronn": "micronn (float32)",
         "float": "micronn, float kernels only", "int8": "micronn int8"}
HEADER = ["| network | implementation | train µs/sample | infer µs/sample | MAC/s (infer) | heap B/param "
          "| train vs naive | infer vs naive |",
          "|---|---|---|---|---|---|---|---|"]
#: the table of a board whose clock cannot be trusted (an emulator: QEMU is not cycle-accurate):
#: the heap, and speeds only as ratios of times measured in the same run
RATIO_HEADER = ["| network | implementation | heap B/param | train vs naive | infer vs naive |",
                "|---|---|---|---|---|"]
RATIO_NOTE = ("Times are left out: QEMU is not cycle-accurate, so only ratios of times measured in "
              "the same run mean something (heap bytes are the board's own).")
EMULATED = ("qemu",)        # sys.platform of boards that are emulators (MicroPython's QEMU port)
LEGEND = ("online training (one sample at a time, SGD, sum-of-squares loss, sigmoid layers), 8 "
          "samples cycled; infer = `predict(x)` on a list. Heap bytes/param: `gc.mem_free()` before "
          "and after building the model and one prediction (CPython: tracemalloc), for a second model "
          "once the first is deleted: what stays after that is shared by all models of the process "
          "(activation tables, int8 scratch) and listed below the table; int8: the model alone, "
          "loaded from its .mnn file in a fresh heap. max abs Δout: int8 against the float model "
          "over the data.")


def applies(net, impl):
    """Whether impl measures net: the naive lists are dense networks only."""
    return impl != "naive" or "conv" not in net


def steps(impl):
    """The bench/onboard.py runs that measure impl, in order."""
    return STEPS.get(impl, (impl,))


def nofit(free):
    """The row of a case that raised MemoryError on a heap with `free` bytes free (a number, or
    what is known of the heap in words)."""
    return {"nofit": free}


def fmt(v, digits=1):
    if v is None:
        return "–"
    return ("%%.%df" % digits) % v


def rate(v):
    """Operations per second as 34.3M or 775k."""
    if v is None:
        return "–"
    return "%.1fM" % (v / 1e6) if v >= 1e6 else "%.0fk" % (v / 1e3)


def table(rows, nets=NETS, impls=IMPLS, heap=None, ratios=False):
    """(markdown lines, notes) for rows[(net, impl)].  heap: the heap the table was measured
    in, named in the note on a baseline that had to be measured in a larger one.  ratios: the
    heap and the ratios only (RATIO_HEADER), for an emulated board."""
    lines = list(RATIO_HEADER if ratios else HEADER)
    blank = "| | |" if ratios else "| | | | | |"
    notes = []
    for net in nets:
        base = _measured(rows.get((net, "naive")))
        for impl in impls:
            if not applies(net, impl):
                continue
            r = rows.get((net, impl))
            name = NAMES[impl]
            if r is None:
                lines.append("| %s | %s | failed %s" % (net, name, blank))
                continue
            if "nofit" in r:
                lines.append("| %s | %s | does not fit %s" % (net, name, blank))
                where = r["nofit"]
                where = ("with %s bytes of heap free" % format(where, ",") if isinstance(where, int)
                         else "in " + where)
                notes.append("%s %s does not fit: MemoryError %s" % (net, name, where))
                continue
            if "heap" in r:
                name += " (heap %s)" % r["heap"]
                notes.append("%s naive baseline does not run in %s; measured in %s, the smallest "
                             "heap (doubling from %s) it ran in" % (net, heap, r["heap"], heap))
            if "maxdiff" in r:
                name += ", max abs Δout %.4f" % r["maxdiff"]
            tr = r.get("train_us")
            ratio_t = ratio_i = ""
            if base and impl != "naive":
                if tr:
                    ratio_t = "%.2fx" % (base["train_us"] / tr)
                ratio_i = "%.1fx" % (base["infer_us"] / r["infer_us"])
            if r.get("shared_bytes"):
                notes.append("%s %s: %s bytes more, shared by all such models of a process"
                             % (net, NAMES[impl], format(r["shared_bytes"], ",")))
            if ratios:
                lines.append("| %s | %s | %.2f | %s | %s |" % (net, name, r["bytes_per_param"], ratio_t, ratio_i))
                continue
            lines.append("| %s | %s | %s | %s | %s | %.2f | %s | %s |" % (
                net, name, fmt(tr), fmt(r["infer_us"]), rate(r["macs_per_s"]), r["bytes_per_param"],
                ratio_t, ratio_i))
    return lines, notes


def _measured(r):
    return r if r is not None and "nofit" not in r else None
