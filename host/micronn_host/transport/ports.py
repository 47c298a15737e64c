"""Which serial port to use: --port, else $MICRONN_PORT, else the one USB serial board."""
import os

from ..errors import PortError


def usb_ports():
    from serial.tools import list_ports
    return sorted((p for p in list_ports.comports() if p.vid is not None), key=lambda p: p.device)


def resolve(port=None):
    if port:
        return port
    env = os.environ.get("MICRONN_PORT")
    if env:
        return env
    found = usb_ports()
    if len(found) == 1:
        return found[0].device
    if not found:
        raise PortError("no USB serial board found; connect one, or name the port with --port "
                        "or $MICRONN_PORT (for a virtual board: micronn sim --link PATH)")
    raise PortError("%d USB serial ports found (%s); choose one with --port or $MICRONN_PORT"
                    % (len(found), ", ".join("%s: %s" % (p.device, p.description) for p in found)))
