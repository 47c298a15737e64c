"""The boards the commands drive.  connect() opens the port, asks the board what it is (a
command short enough for any board, before anything big is sent) and returns the Board that
fits what it can hold:

- agent.AgentBoard: a board that runs lib/micronn (put there by `micronn deploy`) and the
  on-board agent; each job is one agent call;
- tiny.TinyBoard: a board with too little heap for lib/micronn (a BBC micro:bit), which runs a
  program the host generates for each model (micronn_host.tiny).
"""
from ..transport import ports
from ..transport.rawrepl import RawRepl
from .base import TINY_HEAP


def connect(port=None, soft_reset=False):
    """The board at port (see above); soft_reset gives it a fresh heap first."""
    repl = RawRepl(ports.resolve(port))
    try:
        repl.enter(soft_reset=soft_reset)
        platform, free = repl.identify()
        if free < TINY_HEAP:
            from .tiny import TinyBoard
            return TinyBoard(repl, platform, free, fresh=soft_reset)
        from .agent import AgentBoard
        return AgentBoard(repl, platform, free)
    except BaseException:
        repl.close()
        raise
