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
    with connect(args.port) as board:
        d = board.info()
    t = Target(d["mpy"], d["native"])
    d["mpy_version"] = "%d.%d" % (t.major, t.sub) if d["mpy"] else None
    d["arch"] = t.arch
    if args.json:
        out(json.dumps(d, indent=2, sort_keys=True))
        return
    out("port:        %s" % d["port"])
    out("MicroPython: %s" % d["version"])
    if d.get("machine"):
        out("machine:     %s" % d["machine"])
    if d["mpy"]:
        out(".mpy:        v%s, arch %s, %s" % (d["mpy_version"], t.arch or "none",
                                             "native emitter" if t.native else "no native emitter"))
    else:
        out(".mpy:        none (this firmware loads no .mpy files: it compiles every module itself)")
    out("free heap:   %d bytes" % d["free"])
    if "flash_free" in d:
        out("free flash:  %s%d bytes" % ("about " if d.get("tiny") else "", d["flash_free"]))
    if d.get("tiny"):
        out("micronn:     a program made for each model (lib/micronn does not fit this board); "
            "train, push and predict send it when needed")
        out("program:     %s" % (d["program"] or "none yet"))
    else:
        out("micronn:     %s" % (d["micronn"] or "not deployed (run `micronn deploy`)"))
    if d["models"]:
        out("models:")
        for m in d["models"]:
            shape = "-".join(map(str, m["layers"])) if "layers" in m else m.get("error", "?")
            out("  %-16s %7d bytes  %s %s%s" % (m["name"], m["size"], shape, ",".join(m.get("activations", [])),
                                               "  (%s)" % m["file"] if "file" in m else ""))
    else:
        out("models:      none")
