"""The README's "From sensor to model" commands are the ones examples/gestures.py runs (which
tests/test_gestures_example.py runs end to end): a reader who types them gets the models of the
README's table, not a network trained with other options."""
import importlib.util
import re
import shlex

from conftest import ROOT


def readme_commands():
    """The micronn commands of the README's block, with the block's VAR="..." expanded."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^## From sensor to model\n.*?^```sh\n(.*?)^```", text, re.M | re.S).group(1)
    env, out = {}, []
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        m = re.match(r"^([A-Z_]+)=(.*)$", line)
        if m:
            env[m.group(1)] = " ".join(shlex.split(m.group(2)))
        elif line.startswith("micronn "):
            out.append(shlex.split(re.sub(r"\$([A-Z_]+)", lambda v: env[v.group(1)], line))[1:])
    return out


def options(args):
    """{--option: value} of a command line (a flag alone: True)."""
    got, i = {}, 0
    while i < len(args):
        if args[i].startswith("--"):
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                got[args[i]] = args[i + 1]
                i += 1
            else:
                got[args[i]] = True
        i += 1
    return got


def test_the_readme_trains_and_records_with_the_examples_options():
    spec = importlib.util.spec_from_file_location("gestures", ROOT / "examples" / "gestures.py")
    gestures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gestures)
    example = options([str(a) for a in gestures.TRAIN])
    cmds = readme_commands()
    trains = [options(c) for c in cmds if c[0] == "train"]
    assert trains and {t["--layers"] for t in trains} <= {layers for _, _, layers in gestures.MODELS}
    for t in trains:
        assert {k: t.get(k) for k in example} == example, t
    records = [options(c) for c in cmds if c[0] == "record"]
    assert len(records) == len(gestures.GESTURES)
    for r in records:
        assert r["--module"] == "accel" and r["--rate"] == "100" and r["--window"] == "10"
        assert r.get("--columns") == "x,y,z", r
