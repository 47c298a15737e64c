"""`micronn info`: what is on the board: MicroPython, memory, micronn, models."""
import json

from . import options

HELP = "what is on the board: MicroPython, memory, micronn, models"
DESCRIPTION = ("Ask the board what it runs (MicroPython, its .mpy version and native code), how much heap "
               "and flash it has free, whether micronn is deployed, and which models it holds.")
EXAMPLE = "micronn info --port /dev/ttyACM0"


def arguments(p):
    options.port(p)
    p.add_argument("--json", action="store_true", help="print the same as one JSON object")


def run(args, out=print):
    from ..boards import connect
    from ..boards.deploy import Target
    with connect(args.port, soft_reset=True) as board:     # the free heap a job would have
        d = board.info()
    t = Target(d["mpy"], d["native"])
    d["mpy_version"] = "%d.%d" % (t.major, t.sub) if d["mpy"] else None
    d["arch"] = t.arch
    for m in d["models"]:       # a tiny board reads its models whole; an agent before version 2 does not
        m.setdefault("state", "unreadable" if "error" in m else "ok" if d.get("tiny") else "unchecked")
    if args.json:
        out(json.dumps(d, indent=2, sort_keys=True))
        return
    out("port:        %s" % d["port"])
    out("MicroPython: %s" % d["version"])
    if d.get("machine"):
        out("machine:     %s%s" % (d["machine"], ", a virtual board" if d.get("virtual") else ""))
    out("arch:        %s" % (t.arch or "not reported by the firmware"))
    if d["mpy"]:
        out(".mpy:        v%s, %s" % (d["mpy_version"], "native emitter" if t.native else "no native emitter"))
    else:
        out(".mpy:        none (this firmware loads no .mpy files: it compiles every module itself)")
    out("free heap:   %d bytes" % d["free"])
    if "flash_free" in d:
        out("free flash:  %s%d bytes" % ("about " if d.get("tiny") else "", d["flash_free"]))
    elif "host_disk_free" in d:
        out("free flash:  none (a virtual board: its files are in a directory of this computer, whose "
            "disk has %d bytes free)" % d["host_disk_free"])
    if d.get("tiny"):
        out("micronn:     a program made for each model (lib/micronn does not fit this board); "
            "train, push and predict send it when needed")
        out("program:     %s" % (d["program"] or "none yet"))
    else:
        out("micronn:     %s" % (d["micronn"] or "not deployed (run `micronn deploy`)"))
    if d["models"]:
        out("models:")
        for m in d["models"]:
            out("  " + model_line(m))
    else:
        out("models:      none")
    if d.get("leftovers"):
        out("leftovers:   temporary files of cut-short saves and uploads (`micronn deploy` removes them):")
        for e in d["leftovers"]:
            out("  %-32s %7d bytes%s" % (e["path"], e["size"], "  (the only copy of %s: deploy puts it in place "
                                         "if it is whole)" % e["path"][:-4] if e.get("only_copy") else ""))


def model_line(m):
    """One model in `info`'s list: name, size, state (ok / truncated / CRC mismatch /
    unreadable), shape."""
    shape = ""
    if "layers" in m:
        shape = "%s %s" % ("-".join(map(str, m["layers"])), ",".join(m.get("activations", [])))
        if m["state"] == "truncated" and "file_size" in m:
            shape += " (a whole file has %d bytes)" % m["file_size"]
    elif m.get("error"):
        shape = m["error"].split(": ", 1)[-1] if m["error"].startswith("/") else m["error"]
    return "%-16s %7d bytes  %-13s %s%s" % (m["name"], m["size"], m["state"], shape,
                                           "  (%s)" % m["file"] if "file" in m else "")
