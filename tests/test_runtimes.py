"""The batch runner the lib tests rely on: cases stay apart, and a failure names its case."""
import pytest


def test_a_batch_keeps_cases_apart_and_names_the_one_that_failed(rt):
    got = rt.run_batch({"sets": "x = 1\nprint(x + 1)", "reads": "print(x)", "raises": "raise ValueError('no')",
                        "quiet": "y = 1", ("a", 1): "import json\nprint('noise')\nprint(json.dumps([1, 'b']))"})
    assert got["sets"].value == 2
    assert got["reads"].raised()[0] == "NameError"          # nothing left over from the case before
    assert got["raises"].raised() == ("ValueError", "no")
    assert got["sets"].raised() == ("no exception", "")
    with pytest.raises(AssertionError, match=r"case 'raises' on %s raised ValueError: no" % rt.name) as e:
        got["raises"].value
    assert "raise ValueError('no')" in str(e.value)          # the case's source comes with it
    with pytest.raises(AssertionError, match="case 'quiet' on %s printed nothing" % rt.name):
        got["quiet"].value
    assert got["a", 1].value == [1, "b"]                     # the last line printed


def test_when_the_interpreter_dies_the_case_and_those_after_it_say_so(rt):
    got = rt.run_batch({"first": "print(1)", "exits": "import sys\nsys.exit(3)", "after": "print(2)"})
    assert got["first"].value == 1
    kind, msg = got["exits"].raised()
    assert kind == "BatchDied" and "while running it" in msg
    assert "exit code 3" in msg or rt.board         # a board soft-resets: no exit code
    kind, msg = got["after"].raised()
    assert kind == "BatchDied" and msg == "not run: the interpreter ended during case 'exits'"


def test_one_snippet_in_a_process_of_its_own(rt):
    assert rt.run("import json\nprint(json.dumps([1, 2.5]))") == [1, 2.5]
    assert rt.raises("micronn.Network([3])")[0] == "ValueError"
    assert rt.raises("x = 1") == ("no exception", "")
