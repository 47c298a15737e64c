"""The on-board agent's calls that look after the board's files, driven by the `micronn`
command like mnn_agent (whose helpers they use): info (what the board runs and holds, every
model read through and CRC-checked), clean (what cut-short saves and uploads left), install (a
pushed model, only once it loads) and describe (one model's header).  Kept apart from mnn_agent
so that a training job does not hold this code in the heap."""
import gc
import json
import os
import sys

from mnn_agent import VERSION, _exists, _free, _guard, _line, _result, _size, load_model


def info():
    _guard(_info, ())


def _info():
    d = {"agent": VERSION, "platform": sys.platform, "free": _free(), "alloc": gc.mem_alloc()}
    try:
        st = os.statvfs("/")
        d["flash_free"] = st[0] * st[3]
    except (OSError, AttributeError):
        pass
    models(_say)        # a line each, as it is read: 40 models' names would not fit in a small heap at once
    d["leftovers"] = leftovers()
    try:
        import micronn
        d["micronn"] = micronn.__version__
    except ImportError as e:
        d["micronn"] = None
        d["micronn_error"] = str(e)
    _result(d)


def _say(m):
    _line("@M " + json.dumps(m))


def models(each):
    """each({name, size, state, layers, ...}) for every .mnn file in /models, in name order:
    each read through (its CRC checked, never loaded), state "ok", "truncated", "CRC mismatch"
    or "unreadable" (with "error" saying why), and let go before the next."""
    try:
        names = sorted(os.listdir("/models"))
    except OSError:
        return
    for name in names:
        if not name.endswith(".mnn"):
            continue
        path = "/models/" + name
        m = {"name": name[:-4], "size": _size(path)}
        try:
            from micronn.store import check
        except ImportError:
            m["state"] = "unchecked"
            each(m)
            continue
        try:
            with open(path, "rb") as f:
                info, state, error = check(f, path)
            sc = info.pop("scaling", None)      # its arrays are not JSON: say the kind
            if sc:
                info["scaling"] = sc[0]
            m.update(info)
            m["state"] = state
            if error:
                m["error"] = error
        except (ValueError, OSError) as e:
            m["state"] = "unreadable"
            m["error"] = str(e)
        each(m)
        m = info = None
        gc.collect()


# where micronn writes, the kinds of file it writes there, and the names of what a save or an
# upload cut short leaves: NAME.tmp (store.atomic), NAME.part (the host's put), NAME.new (a pushed
# model not installed), one after another (m.mnn.new.part).  A user's own files (settings.new,
# log.tmp) are not micronn's to remove.
TEMP_DIRS = (("/", (".py", ".mpy")), ("/lib", (".py", ".mpy")), ("/lib/micronn", (".py", ".mpy")),
             ("/models", (".mnn", ".json")), ("/data", (".mnd",)))
TEMP_ENDS = (".tmp", ".part", ".new")


def _ours(name, kinds):
    """Whether name is a temporary file of one of micronn's files of these kinds."""
    if not name.endswith(TEMP_ENDS):
        return False
    while name.endswith(TEMP_ENDS):
        name = name[:name.rindex(".")]
    return name.endswith(kinds)


def leftovers():
    """[{path, size}] of the temporary files cut-short saves and uploads left; "only_copy" marks
    a model's NAME.mnn.tmp when NAME.mnn is missing (a rename cut short: micronn.load uses it)."""
    out = []
    for d, kinds in TEMP_DIRS:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if not _ours(name, kinds):
                continue
            path = d.rstrip("/") + "/" + name
            e = {"path": path, "size": _size(path)}
            if name.endswith(".mnn.tmp") and _size(path[:-4]) < 0:
                e["only_copy"] = True
            out.append(e)
    return out


def clean():
    _guard(_clean, ())


def _clean():
    """Remove the leftovers(); a model's only copy is renamed into place instead when it is
    whole (its CRC checks)."""
    removed, recovered = [], []
    for e in leftovers():
        path = e["path"]
        if e.get("only_copy"):
            try:
                from micronn.store import check, replace
                with open(path, "rb") as f:
                    whole = check(f, path)[1] == "ok"
                if whole:
                    replace(path, path[:-4])
                    recovered.append(path[:-4])
                    continue
            except (ImportError, ValueError, OSError):
                pass
        try:
            os.remove(path)
            removed.append(path)
        except OSError:
            pass
    _result({"removed": removed, "recovered": recovered})


def install(tmp, path):
    """Replace `path` by the uploaded model `tmp` only if it loads."""
    _guard(_install, (tmp, path))


def _install(tmp, path):
    try:
        net = load_model(tmp)
        del net
        from micronn.store import replace
        replace(tmp, path)
    finally:
        try:
            os.remove(tmp)
        except OSError:
            pass
    _result({"path": path, "size": _size(path)})


def describe(model):
    _guard(_describe, (model,))


def _describe(model):
    """The header of /models/<model>.mnn (layers, activations, classes, inputs, targets, summary,
    scaling kind), or {"missing": true} when there is no such model."""
    path = "/models/%s.mnn" % model
    if not _exists(path):
        _result({"missing": True})
        return
    from micronn.store import describe as head
    with open(path if _size(path) >= 0 else path + ".tmp", "rb") as f:
        info = head(f, path)
    sc = info.pop("scaling", None)
    if sc:
        info["scaling"] = sc[0]
    _result(info)
