"""`micronn info`, `fetch`, `push` and `predict`: models on the board."""
import io
import json
import os

from . import dataset
from .errors import DataError, MicronnError


def read_model(data, name):
    """A model from bytes, checked field by field and by CRC (micronn's own reader)."""
    from micronn import model
    try:
        return model.read(io.BytesIO(data), name)
    except ValueError as e:
        raise MicronnError(str(e))


def write_atomic(path, data):
    tmp = "%s.tmp" % path
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def run_info(args, out=print):
    from .board import connect
    from .deploy import Target
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


def run_fetch(args, out=print):
    from .board import connect
    dest = args.output_file or "%s.mnn" % args.model
    with connect(args.port) as board:
        data, path = board.fetch(args.model)
    net = read_model(data, "%s from the board" % path)
    write_atomic(dest, data)
    out("fetched %s (%s, %d parameters, %d bytes, CRC ok) to %s"
        % (path, "-".join(map(str, net.sizes)), net.n_params, len(data), dest))


def run_push(args, out=print):
    from .board import connect
    import micronn
    try:
        with open(args.file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MicronnError("%s: %s" % (args.file, e.strerror or e))
    try:
        net = micronn.load(args.file)
    except ValueError as e:
        raise MicronnError(str(e))
    if data[:3] != b"MNN":              # a JSON model: send the compact binary form
        from micronn.model import to_bytes
        data = to_bytes(net)
    with connect(args.port) as board:
        path = board.push(args.model, data, net)
    out("pushed %s (%s, %d bytes) to %s:%s; it loads on the board"
        % (args.file, "-".join(map(str, net.sizes)), len(data), board.port, path))


def run_predict(args, out=print):
    from .board import connect
    targets = None
    with connect(args.port) as board:
        where = board.where(args.model)
        model = read_model(board.fetch(args.model)[0], where) if args.compare else None
        n_in = model.sizes[0] if model else board.inputs(args.model)
        if args.csv:
            table = dataset.read_csv(args.csv)
            if table.width == n_in:
                X = table.rows
            elif table.width > n_in:
                X, targets = [r[:n_in] for r in table.rows], [r[n_in:] for r in table.rows]
            else:
                raise DataError("%s has %d columns; the model %s has %d inputs"
                                % (args.csv, table.width, where, n_in))
        else:
            if not args.values:
                raise MicronnError("give the input values, or --csv FILE")
            X = [[_value(v, i) for i, v in enumerate(args.values, 1)]]
            if len(X[0]) != n_in:
                raise DataError("%d values given; the model %s has %d inputs" % (len(X[0]), where, n_in))
        rows = board.predict(args.model, X)
    if args.json:
        out(json.dumps(rows))
    else:
        for i, r in enumerate(rows):
            line = " ".join("%.6f" % v for v in r)
            if targets:
                line += "    target " + " ".join("%g" % v for v in targets[i])
            out(line)
    if args.compare:
        host = model.predict_many(dataset.as_float32(X))
        diff = max(abs(a - b) for ra, rb in zip(rows, host) for a, b in zip(ra, rb))
        out("largest difference between the board and this computer: %.3g" % diff)
    return rows


def _value(text, i):
    try:
        return float(text)
    except ValueError:
        raise DataError("value %d: %r is not a number" % (i, text))
