"""The emulated micro:bit and the raw-REPL driver made for its 64-byte receive buffer."""
import os
import signal
import subprocess
import sys

import pytest

from microbit_support import emulator, need_emulator, repl  # noqa: F401 (fixtures)
from micronn_host import qemu_microbit
from micronn_host.tinyrepl import MAX_COMMAND, BoardException, BoardReset, RawRepl


def test_a_missing_emulator_names_the_debian_packages(monkeypatch):
    monkeypatch.setattr(qemu_microbit, "QEMU", "qemu-system-arm-not-installed")
    with pytest.raises(qemu_microbit.EmulatorError) as e:
        qemu_microbit.Emulator().start()
    msg = str(e.value)
    assert "qemu-system-arm-not-installed" in msg
    assert "qemu-system-arm firmware-microbit-micropython" in msg and "apt-get install" in msg


def test_a_missing_firmware_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(qemu_microbit, "FIRMWARE", str(tmp_path / "firmware.hex"))
    why = qemu_microbit.missing()
    assert why and str(tmp_path / "firmware.hex") in why and "firmware-microbit-micropython" in why


def test_it_boots_micropython_1_9_on_a_pty_and_links_it(tmp_path):
    need_emulator()
    link = tmp_path / "microbit"
    with qemu_microbit.Emulator(link=str(link)) as emu:
        assert os.path.realpath(link) == os.path.realpath(emu.port)
        r = RawRepl(str(link))
        r.enter()
        assert r.exec("import sys;print(sys.platform,sys.implementation.version)").split() == \
            ["microbit", "(1,", "9,", "2)"]
        r.close()
    assert not os.path.lexists(link)


def test_commands_longer_than_the_receive_buffer_are_refused_before_sending(repl):
    with pytest.raises(ValueError, match="at most %d" % MAX_COMMAND):
        repl.exec("x=" + "1" * MAX_COMMAND)
    assert repl.exec("print(%s)" % ("1+" * ((MAX_COMMAND - 8) // 2) + "1")).strip() == \
        str((MAX_COMMAND - 8) // 2 + 1)


def test_board_exceptions_carry_the_last_traceback_line(repl):
    with pytest.raises(BoardException) as e:
        repl.exec("1/0")
    assert e.value.kind == "ZeroDivisionError" and "division by zero" in str(e.value)


def test_a_soft_reset_frees_the_heap(repl):
    repl.soft_reset()
    free = int(repl.exec("import gc;gc.collect();print(gc.mem_free())"))
    repl.exec("junk=bytearray(3000)")
    repl.soft_reset()
    assert int(repl.exec("import gc;gc.collect();print(gc.mem_free())")) == free
    assert free > 9000


def test_a_reset_mid_command_is_reported_and_files_survive_it(emulator, repl):
    repl.exec("f=open('keep.txt','w');f.write('kept');f.close()")
    repl.start("while True:pass")
    emulator.reset()
    with pytest.raises(BoardReset):
        repl.follow(timeout=20)
    assert repl.exec("print(open('keep.txt').read())").strip() == "kept"
    repl.exec("import os;os.remove('keep.txt')")


def test_serve_runs_the_emulator_until_ctrl_c(tmp_path):
    need_emulator()
    link = tmp_path / "microbit"
    proc = subprocess.Popen([sys.executable, "-c", "from micronn_host.qemu_microbit import serve; serve(%r)" % str(link)],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "micro:bit emulator (MicroPython 1.9.2) on /dev/" in line and str(link) in line
        r = RawRepl(str(link))
        r.enter()
        assert r.exec("print(6*7)").strip() == "42"
        r.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    assert not os.path.lexists(link)
