"""`micronn sim --board m4f`: the emulated Cortex-M4F board (QEMU's mps2-an386 running a
MicroPython firmware for it) as a virtual board on a pty: how it starts and stops, what it says
without a firmware, its resets and its filesystem (a RAM disk: kept across soft and hard resets,
gone with the QEMU process)."""
import json
import os
import signal
import subprocess

import pytest

from boards import BIN, MICRONN, Sim, cli, one_error_line
from m4f_support import firmware, need_m4f
from micronn_host.sim import qemu
from micronn_host.transport.rawrepl import RawRepl

pytestmark = [pytest.mark.board, pytest.mark.emulator]


@pytest.fixture(scope="module")
def m4f(tmp_path_factory):
    sim = Sim(tmp_path_factory.mktemp("m4f"), "m4f", firmware=need_m4f())
    yield sim
    sim.stop()


@pytest.fixture
def repl(m4f):
    r = RawRepl(m4f.port)
    r.enter()
    yield r
    r.close()


def env_without_firmware():
    env = dict(os.environ)
    env.pop(qemu.M4F_FIRMWARE, None)
    return env


def test_without_a_firmware_it_says_what_it_needs_in_one_line(tmp_path):
    p = subprocess.run(MICRONN + ["sim", "--board", "m4f", "--link", str(tmp_path / "m4f")],
                       capture_output=True, text=True, env=env_without_firmware(), timeout=60)
    msg = one_error_line(p)
    assert "--firmware FILE.elf or $MICRONN_M4F_FIRMWARE" in msg and "mps2-an386" in msg
    assert "docs/boards.md" in msg
    assert not os.path.lexists(tmp_path / "m4f")
    p = subprocess.run(MICRONN + ["sim", "--board", "m4f", "--firmware", str(tmp_path / "none.elf")],
                       capture_output=True, text=True, env=env_without_firmware(), timeout=60)
    assert "no M4F firmware at %s (--firmware)" % (tmp_path / "none.elf") in one_error_line(p)


def test_without_qemu_it_names_the_package(tmp_path):
    (tmp_path / "fw.elf").write_bytes(b"\x7fELF")
    env = dict(os.environ, PATH=str(BIN))                   # no qemu-system-arm on this PATH
    p = subprocess.run(MICRONN + ["sim", "--board", "m4f", "--firmware", str(tmp_path / "fw.elf")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert "qemu-system-arm (the QEMU ARM emulator) not found" in one_error_line(p)


def test_a_file_that_is_no_firmware_for_the_board_is_one_line(tmp_path):
    """QEMU starts, opens its pty and dies on the file (a CPU lockup): one line, no traceback."""
    from conftest import need
    import shutil
    need(shutil.which(qemu.QEMU), qemu.QEMU, "install the Debian package qemu-system-arm")
    fw = tmp_path / "not-a-firmware.elf"
    fw.write_bytes(b"this is not a firmware for mps2-an386\n" * 100)
    link = tmp_path / "m4f"
    p = subprocess.run(MICRONN + ["sim", "--board", "m4f", "--firmware", str(fw), "--link", str(link)],
                       capture_output=True, text=True, env=env_without_firmware(), timeout=60)
    msg = one_error_line(p)
    assert "%s exited" % qemu.QEMU in msg and str(fw) in msg and "docs/boards.md" in msg, msg
    assert not os.path.lexists(link)


@pytest.mark.parametrize("board", ["pico", "m4f"])
def test_a_link_that_cannot_be_made_is_one_line_and_a_file_there_is_kept(tmp_path, board):
    """--link over a file that is not a symlink is refused (the emulated boards removed it), and
    one in a directory that does not exist is one line, for the unix-port boards as for QEMU's."""
    extra = ["--firmware", need_m4f()] if board == "m4f" else []
    kept = tmp_path / "data.csv"
    kept.write_text("x,y\n1,2\n")
    for link, said in ((kept, "exists and is not a symlink"), (tmp_path / "no" / "port", "no directory")):
        p = subprocess.run(MICRONN + ["sim", "--board", board, "--link", str(link)] + extra,
                           capture_output=True, text=True, timeout=60)
        msg = one_error_line(p)
        assert msg.startswith("micronn: --link %s" % link) and said in msg, msg
    assert kept.read_text() == "x,y\n1,2\n"


def test_sim_takes_the_firmware_from_the_environment_and_runs_until_ctrl_c(tmp_path):
    path = need_m4f()
    link = tmp_path / "m4f"
    proc = subprocess.Popen(MICRONN + ["sim", "--board", "m4f", "--link", str(link)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, **{qemu.M4F_FIRMWARE: path}))
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("micronn sim: emulated Cortex-M4F board (QEMU mps2-an386)"), lines
        assert lines[1].startswith("  firmware: %s (MicroPython v" % path), lines
        assert "mps2-an386 with Cortex-M4F" in lines[1]
        assert os.path.realpath(link).startswith("/dev/pts/")
        d = json.loads(cli("info", "--json", port=link, check=True).stdout)
        assert d["platform"] == "qemu" and d["machine"] == "mps2-an386 with Cortex-M4F" and not d["virtual"]
        assert d["arch"] == "armv7emsp" and d["native"] is True and d["micronn"] is None
        assert 150 * 1024 < d["free"] <= 192 * 1024
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    assert not os.path.lexists(link)


def test_it_is_a_32_bit_float32_board(repl):
    out = repl.exec("import sys, struct\nprint(sys.maxsize, struct.calcsize('P'), repr(1/3), "
                    "struct.pack('<f', 1/3) == struct.pack('<f', float(repr(1/3))), 2**31)").decode().split()
    assert out[:3] == [str(2 ** 31 - 1), "4", "0.33333334"]
    assert out[3] == "True" and out[4] == str(2 ** 31)      # big ints work


def test_raw_paste_and_a_soft_reset_with_a_fresh_heap(repl):
    code = "s = 0\nfor i in range(1000):\n    s += i\nprint(s, %r)\n" % ("x" * 3000)
    assert repl.exec(code).split()[0] == b"499500" and repl.use_paste
    repl.exec("keep = bytearray(50000)")
    repl.enter(soft_reset=True)
    assert repl.exec("print('keep' in globals())").strip() == b"False"
    free = int(repl.eval("__import__('gc').mem_free()"))
    assert 150 * 1024 < free <= 192 * 1024


def test_files_survive_soft_and_hard_resets_but_not_a_new_emulator(m4f, tmp_path):
    m4f.write("/lib/kept.py", b"X = 42\n")
    r = RawRepl(m4f.port)
    try:
        r.enter(soft_reset=True)
        assert r.eval("__import__('kept').X") == "42"       # /lib is on sys.path
    finally:
        r.close()
    m4f.reset()                                             # the reset button: QEMU's system_reset
    r = RawRepl(m4f.port)
    try:
        r.read_until(b"Type \"help()\" for more information.", 10.0)
        r.enter()
        assert r.eval("__import__('kept').X") == "42"
    finally:
        r.close()
    other = Sim(tmp_path, "m4f", firmware=firmware())
    try:
        assert "kept.py" not in other.names("/lib") and other.names("/") in ([], ["lib"])
    finally:
        other.stop()


def test_ctrl_c_does_not_interrupt_running_code_on_this_firmware(repl):
    """MicroPython's QEMU port polls its UART: a Ctrl-C from the host is a byte on stdin, not a
    KeyboardInterrupt.  micronn's agent takes it for a stop request; other code runs on."""
    import threading
    timer = threading.Timer(0.3, lambda: repl.write(b"\x03"))
    timer.start()
    out = repl.exec("import sys\nprint('running')\nprint(repr(sys.stdin.buffer.read(1)))", timeout=30)
    timer.join()
    assert out.split() == [b"running", b"b'\\x03'"]


def test_the_banner_is_asked_for_when_the_boot_was_missed():
    """A board that booted before its pty was read has printed its banner already: Ctrl-B at the
    prompt prints it again (this is what a second wait for the prompt sees)."""
    with qemu.Emulator("m4f", firmware=need_m4f()) as emu:
        emu.banner = ""
        emu._wait_for_prompt(20.0)
        assert emu.banner.startswith("MicroPython v"), emu.banner
