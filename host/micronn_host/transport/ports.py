"""Which serial port to use: --port, else $MICRONN_PORT, else the one USB serial board.

"The one USB serial port" may not be a board at all: a GPS module, a modem or a USB-serial
adapter looks the same from here.  Such a device is refused when it does not answer as a
MicroPython REPL (the transport gives up within seconds however much it talks), and the
message then says the port was chosen for the user and how to name another (connect()).
"""
import os

from ..errors import PortError


def usb_ports():
    from serial.tools import list_ports
    return sorted((p for p in list_ports.comports() if p.vid is not None), key=lambda p: p.device)


def resolve(port=None):
    return find(port)[0]


def find(port=None):
    """(the port to use, how it was chosen in words when micronn chose it, else None)."""
    if port:
        return port, None
    env = os.environ.get("MICRONN_PORT")
    if env:
        return env, None
    found = usb_ports()
    if len(found) == 1:
        p = found[0]
        return p.device, "the one USB serial port connected%s" % (
            ", %s" % p.description if p.description and p.description != "n/a" else "")
    if not found:
        raise PortError("no USB serial board found; connect one, or name the port with --port "
                        "or $MICRONN_PORT (for a virtual board: micronn sim --link PATH)")
    raise PortError("%d USB serial ports found (%s); choose one with --port or $MICRONN_PORT"
                    % (len(found), ", ".join("%s: %s" % (p.device, p.description) for p in found)))
