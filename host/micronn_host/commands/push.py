"""`micronn push`: copy a model file (trained here or elsewhere) to the board."""
from ..errors import MicronnError
from . import options

HELP = "copy a model file to the board"
DESCRIPTION = ("Copy a .mnn or JSON model to the board as model NAME. The board loads it before it "
               "replaces the model of that name, so a model that does not load there changes nothing.")
EXAMPLE = "micronn push other.mnn --model other"


def arguments(p):
    options.port(p)
    p.add_argument("file", help="a .mnn or JSON model")
    options.model(p)


def run(args, out=print):
    import micronn
    from micronn.model import to_bytes
    from ..boards import connect
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
        data = to_bytes(net)
    with connect(args.port) as board:
        path = board.push(args.model, data, net)
    out("pushed %s (%s, %d bytes) to %s:%s; it loads on the board"
        % (args.file, options.shape(net), len(data), board.port, path))
    if not board.caps.runs_lib and net.classes:
        out("this board keeps the weights only, not the class names: its outputs are, in order, %s"
            % ", ".join(net.classes))
