"""What the tests that need the emulated micro:bit (QEMU + the Debian firmware) share."""
from conftest import need
from micronn_host.sim import qemu as qemu_microbit


def need_emulator():
    """Skip (fail in CI) when qemu-system-arm or the micro:bit firmware is missing."""
    why = qemu_microbit.missing()
    need(not why, "the micro:bit emulator", why or "")
