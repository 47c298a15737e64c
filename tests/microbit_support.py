"""Fixtures for the tests that need the emulated micro:bit (QEMU + the Debian firmware)."""
import pytest

from conftest import need
from micronn_host import qemu_microbit
from micronn_host.microbit import TinyBoard
from micronn_host.tinyrepl import RawRepl

X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]      # the article's data
Y = [[0], [1], [1], [0]]


def need_emulator():
    why = qemu_microbit.missing()
    need(not why, "the micro:bit emulator", why or "")


@pytest.fixture(scope="session")
def emulator():
    """One emulated micro:bit for the session (each test uses its own model names)."""
    need_emulator()
    emu = qemu_microbit.Emulator()
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def repl(emulator):
    r = RawRepl(emulator.port)
    yield r
    r.close()


@pytest.fixture
def board(repl):
    return TinyBoard(repl)
