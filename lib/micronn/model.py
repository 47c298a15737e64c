"""Models from files: micronn.load builds a Network or a quantized QNetwork from what store reads.

The one place that knows which class a file's description becomes.  The network modules are
imported only for the kind of model being read (a board that loads an int8 model never
imports network.py's training code, and the reverse).
"""
from . import store


def load(path):
    """Read a model saved by save() (.mnn or JSON, told apart by content).

    On a FAT filesystem MicroPython's rename removes the old file before moving the new one
    into place; if the board lost power in between, only the complete temporary file is left,
    and it is used when it reads back whole (CRC and all).
    """
    try:
        f = open(path, "rb")
    except OSError:
        try:
            with open(path + ".tmp", "rb") as f:
                return read(f, path + ".tmp")
        except (OSError, ValueError):
            pass
        raise
    with f:
        return read(f, path)


def read(f, name="model"):
    """Read a model from an open binary file object; name is used in error messages."""
    head = f.read(store.HEAD)
    if store.is_json(head):
        info, weights = store.parse_json(head + f.read(), name)
        try:
            net = empty(info)
            net.set_weights(weights)
            return _meta(net, info)
        except (ValueError, TypeError) as e:
            raise ValueError("%s: %s" % (name, e))
    info, crc = store.read_header(f, head, name, False)
    crc = store.read_layer_table(f, info, crc, name)
    try:
        model = empty(info)     # its buffers first, while the heap has its largest free blocks
    except ValueError as e:
        raise ValueError("%s: %s" % (name, e))
    crc = store.read_sections(f, info, crc, name)
    try:
        model = _meta(model, info)
    except ValueError as e:
        raise ValueError("%s: %s" % (name, e))
    store.read_body(f, info, model.buffers(), crc, name)
    if info["dtype"] == "b":
        try:
            model.check()
        except ValueError as e:
            raise ValueError("%s: %s" % (name, e))
    return model


def _meta(model, info):
    """Give the model what the file says besides its weights (meta.Meta)."""
    if info.get("scaling") is not None:
        from .scale import Scaler
        model.scaler = Scaler(*info["scaling"])
    model.set_meta(dict((k, info[k]) for k in ("classes", "inputs", "targets", "summary") if k in info))
    n_out = info["layers"][-1]
    if model.classes is not None and len(model.classes) != (2 if n_out == 1 else n_out):
        raise ValueError("%d class names for %d outputs" % (len(model.classes), n_out))
    return model


def empty(info):
    """A model of the described kind and shape with zeroed buffers, ready to be filled."""
    acts = info["activations"]
    spec = info.get("spec")
    if spec is not None:            # convolutions: a layer table (micronn.shapes)
        from .shapes import Spec
        hidden = Spec(spec).check_activations(acts)
        if info["dtype"] == "b":
            from .qconv import QConv
            return QConv(spec, acts, info["bias"])
        from .network import Network
        return Network(spec, hidden, acts[-1], info["bias"], init=False, dtype=info["dtype"])
    if info["dtype"] == "b":
        from .quant import QNetwork
        return QNetwork(info["layers"], acts, info["bias"])
    from .network import Network
    return Network(info["layers"], acts[:-1], acts[-1], info["bias"], init=False, dtype=info["dtype"])


def to_bytes(model):
    """The .mnn file of a model (Network or QNetwork), as bytes."""
    import io
    f = io.BytesIO()
    store.write(f, store.header(model.describe()), model.buffers())
    return f.getvalue()
