"""The raw-REPL transport on the emulated micro:bit: a 63-byte receive buffer that drops what
does not fit, no raw-paste, and a soft reset that must also clear a stray byte."""
import pytest

from microbit_support import need_emulator
from micronn_host.sim import qemu as qemu_microbit
from micronn_host.errors import BoardError
from micronn_host.transport.rawrepl import LIMITS, RawRepl

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def emulator():
    need_emulator()
    with qemu_microbit.Emulator() as emu:
        yield emu


@pytest.fixture
def repl(emulator):
    r = RawRepl(emulator.port)
    r.enter(soft_reset=True)
    yield r
    r.close()


def test_identify_sets_the_command_limit_before_anything_long_is_sent(repl, monkeypatch):
    writes = []
    real = RawRepl.write
    monkeypatch.setattr(RawRepl, "write", lambda self, data: (writes.append(len(data)), real(self, data))[1])
    platform, free = repl.identify()
    assert platform == "microbit" and 9000 < free < 10500
    assert repl.max_command == LIMITS["microbit"] == 62 and not repl.use_paste
    assert max(writes) <= 63


def test_long_code_goes_in_pieces_the_receive_buffer_holds(repl, monkeypatch):
    repl.identify()
    code = "def f(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n" * 8 + \
           "print(f(%d), %r)\n" % (100, "x" * 300)
    writes = []
    real = RawRepl.write
    monkeypatch.setattr(RawRepl, "write", lambda self, data: (writes.append(len(data)), real(self, data))[1])
    out = repl.exec(code).decode().split()
    assert out == [str(sum(i * i for i in range(100))), "x" * 300]
    assert len(code) > 600 and len(writes) > 10 and max(writes) <= 63     # command + Ctrl-D


def test_board_exceptions_carry_the_type_and_the_last_line(repl):
    repl.identify()
    with pytest.raises(BoardError) as e:
        repl.exec("1/0")
    assert e.value.exc_type == "ZeroDivisionError" and "division by zero" in str(e.value)
    with pytest.raises(BoardError) as e:          # a staged command fails the same way
        repl.exec("x = %r\nraise ValueError('after a long line')" % ("y" * 100))
    assert e.value.exc_type == "ValueError" and str(e.value) == "after a long line"


def test_a_soft_reset_frees_the_heap_and_clears_a_stray_byte(repl):
    repl.identify()
    repl.soft_reset()
    free = int(repl.exec("import gc;gc.collect();print(gc.mem_free())"))
    repl.exec("junk=bytearray(3000)")
    repl.write(b"\x1a")                 # a stop byte that came after its command ended
    repl.soft_reset()
    assert int(repl.exec("import gc;gc.collect();print(gc.mem_free())")) == free
    assert repl.exec("print('junk' in globals())").strip() == b"False"
