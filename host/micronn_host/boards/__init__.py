"""The boards the commands drive.  connect() opens the port, asks the board what it is (a
command short enough for any board, before anything big is sent) and returns the Board that
fits what it can hold:

- agent.AgentBoard: a board that runs lib/micronn (put there by `micronn deploy`) and the
  on-board agent; each job is one agent call;
- tiny.TinyBoard: a board with too little heap for lib/micronn (a BBC micro:bit), which runs a
  program the host generates for each model (micronn_host.tiny).
"""
from ..errors import PortError
from ..transport import ports
from ..transport.rawrepl import RawRepl
from .base import TINY_HEAP


def connect(port=None, soft_reset=False):
    """The board at port (see above); soft_reset gives it a fresh heap first."""
    device, chosen = ports.find(port)
    repl = RawRepl(device)
    try:
        try:
            repl.enter(soft_reset=soft_reset)
            platform, free = repl.identify()
        except PortError as e:
            if chosen:      # micronn picked the port: say so, and how to pick another
                raise PortError("%s (%s, chosen because no port was named); if the board is on another "
                                "port, name it with --port or $MICRONN_PORT" % (e, chosen))
            raise
        if free < TINY_HEAP and (soft_reset or not _agent_imported(repl)):
            from .tiny import TinyBoard
            return TinyBoard(repl, platform, free, fresh=soft_reset)
        from .agent import AgentBoard
        return AgentBoard(repl, platform, free)
    except BaseException:
        repl.close()
        raise


def _agent_imported(repl):
    """Whether the agent is imported on the board: then the heap it reports is what the last
    job left (micronn stays imported until a soft reset), not what the board can hold.  (A
    micro:bit's MicroPython 1.9 has no sys.modules; the command stays short enough for it.)"""
    return repl.exec("import sys;print('mnn_agent' in getattr(sys,'modules',()))").strip() == b"True"
