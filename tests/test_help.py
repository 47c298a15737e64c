"""Every command's --help says what it does, with an example, and every option says what it is
for (the command table in micronn_host.commands builds them)."""
import re

import pytest

from boards import cli
from micronn_host.cli import build_parser
from micronn_host.commands import COMMANDS, module


def flat(text):
    return " ".join(text.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_help_describes_the_command_with_an_example(name):
    m = module(name)
    assert m.HELP.strip() and len(m.DESCRIPTION.split()) >= 8, name
    assert m.EXAMPLE.startswith("micronn %s" % name), m.EXAMPLE
    p = cli(name, "--help")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert flat(m.DESCRIPTION) in flat(p.stdout)
    assert re.search(r"^example:\n  %s$" % re.escape(m.EXAMPLE), p.stdout, re.M), p.stdout


def test_every_option_has_help_text():
    parser = build_parser()
    sub = [a for a in parser._actions if a.dest == "command"][0]
    assert sorted(sub.choices) == sorted(COMMANDS)
    missing = ["%s %s" % (name, "/".join(a.option_strings) or a.dest)
               for name, p in sub.choices.items() for a in p._actions
               if a.dest != "help" and not (a.help or "").strip()]
    assert missing == []


def test_the_command_list_has_each_commands_one_line_help():
    out = cli("--help").stdout
    for name in COMMANDS:
        assert re.search(r"^\s+%s\s+%s" % (name, re.escape(module(name).HELP[:30])), out, re.M), name


def test_info_json_has_help_text():
    out = flat(cli("info", "--help").stdout)
    assert "--json print the same as one JSON object" in out
