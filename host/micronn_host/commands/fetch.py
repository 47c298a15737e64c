"""`micronn fetch`: copy a model from the board to this computer."""
from ..errors import MicronnError
from ..files import write_atomic
from . import options

HELP = "copy a model from the board to this computer"
DESCRIPTION = ("Copy model NAME from the board, check it (size, CRC, and that it loads) and write it "
               "atomically to a file here.")
EXAMPLE = "micronn fetch --model model -o model.mnn"


def arguments(p):
    options.port(p)
    options.model(p)
    p.add_argument("-o", dest="output_file",
                   help="file to write (default: NAME.mnn; a .json name gets the readable form)")


def read_model(data, name):
    """A model from bytes, checked field by field and by CRC (micronn's own reader)."""
    import io
    from micronn import model
    try:
        return model.read(io.BytesIO(data), name)
    except ValueError as e:
        raise MicronnError(str(e))


def run(args, out=print):
    from ..boards import connect
    dest = args.output_file or "%s.mnn" % args.model
    with connect(args.port) as board:
        data, path = board.fetch(args.model)
    net = read_model(data, "%s from the board" % path)
    if dest.lower().endswith(".json"):     # the readable form of the same model
        options.save_model(net, dest)
    else:
        write_atomic(dest, data)
    out("fetched %s (%s, %d parameters, %d bytes, CRC ok) to %s"
        % (path, options.shape(net), net.n_params, len(data), dest))
