"""Host-side errors.  The top-level handler prints `micronn: <message>` and exits non-zero."""


class MicronnError(Exception):
    """An error the user can act on; str() is the whole one-line message."""
    status = 1


class PortError(MicronnError):
    """No board at the port, the port is busy, or the port answers but not as MicroPython."""


class Disconnected(MicronnError):
    """The serial line went away (cable pulled, board powered off)."""


class BoardReset(MicronnError):
    """The board reset while a command was running."""


class BoardError(MicronnError):
    """A command raised an exception on the board; exc_type is its class name there."""

    def __init__(self, exc_type, message, traceback=""):
        MicronnError.__init__(self, message)
        self.exc_type = exc_type
        self.traceback = traceback


class TransferError(MicronnError):
    """A file arrived damaged (its size or CRC does not match), or is not there."""


class NotDeployed(MicronnError):
    pass


class DataError(MicronnError):
    """A problem with the user's data file (the message names file, line and column)."""


class Interrupted(MicronnError):
    status = 130


class NoRoom(MicronnError):
    """A file that does not fit on the board's flash; free: the bytes it had free (-1: unknown)."""

    def __init__(self, message, free=-1):
        MicronnError.__init__(self, message)
        self.free = free
