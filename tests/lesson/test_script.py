"""Scripted sessions' files: scripts no parser should choke on, and JUnit reports that stay
well-formed XML and private whatever the tutor or the script put in them."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.cli_runner import tutor
from tutor_cli.errors import BadInput
from tutor_cli.lesson.script import Check, Report, load_script, write_junit

DEEP = {
    "arrays": "scenario = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "inline tables": "scenario = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n",
}


@pytest.mark.parametrize("document", DEEP.values(), ids=DEEP.keys())
def test_a_script_nested_100000_deep_is_one_line_and_exit_2(tmp_path: Path, document: str) -> None:
    script = tmp_path / "deep.toml"
    script.write_text(document, encoding="utf-8")
    with pytest.raises(BadInput, match=r"deep\.toml: invalid TOML: nested too deeply"):
        load_script(script)
    result = tutor("call", "--headless", "--text-only", "--script", str(script))
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == f"tutor: {script}: invalid TOML: nested too deeply\n"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "true", '"30"'])
def test_timeout_must_be_a_finite_positive_number(tmp_path: Path, value: str) -> None:
    script = tmp_path / "t.toml"
    script.write_text(f'timeout_s = {value}\n[[turns]]\nsay = "Hola"\n', encoding="utf-8")
    with pytest.raises(BadInput, match=r"'timeout_s' must be a positive number of seconds"):
        load_script(script)


# XML 1.0 allows tab, newline, carriage return and U+0020 up: no other C0 control, no lone
# surrogate, not U+FFFE or U+FFFF.
FORBIDDEN = "\x00\x07\x1b\x0b\x0c\x1f\ud800\udfff\ufffe\uffff"


def hostile_report(script: Path) -> Report:
    report = Report(script)
    report.checks = [
        Check(f"turn 1: reply matches /\x1b[31m{FORBIDDEN}/", False, f"got: x\x07y{FORBIDDEN}"),
        Check("turn 1: tutor calls grade\x00lesson", True, ""),
        Check("end: tutor calls x", False, f"tools called: bad\x1bname{FORBIDDEN}, \U0001f600"),
    ]
    report.failure = f"the engine said \x1b]0;pwned\x07 and {FORBIDDEN} left\ttab\nnewline"
    return report


def test_junit_strips_what_xml_forbids_in_every_attribute_and_text(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    write_junit(hostile_report(tmp_path / "name\x1bwith\x00control.toml"), path, 1.5)
    suite = ElementTree.parse(path).getroot()  # raises if the file is not well-formed
    assert suite.get("name") == "tutor script namewithcontrol.toml"
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == ["namewithcontrol"] * 4
    assert [c.get("name") for c in cases] == [
        "turn 1: reply matches /[31m/",
        "turn 1: tutor calls gradelesson",
        "end: tutor calls x",
        "session",
    ]
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message") == failure.text == "got: xy"
    failure = cases[2].find("failure")
    assert failure is not None and failure.text == "tools called: badname, \U0001f600"
    error = cases[3].find("error")
    assert error is not None
    assert error.text == error.get("message") == "the engine said ]0;pwned and  left\ttab\nnewline"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")


def test_junit_report_is_owner_only_even_over_an_existing_file(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.xml"
    write_junit(hostile_report(tmp_path / "s.toml"), fresh, 1.0)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    old = tmp_path / "old.xml"
    old.write_text("<previous report, longer than the new one>" * 1000, encoding="utf-8")
    os.chmod(old, 0o644)
    write_junit(Report(tmp_path / "s.toml"), old, 1.0)
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert ElementTree.parse(old).getroot().get("tests") == "0"  # replaced whole


@pytest.mark.parametrize(
    ("target", "message"),
    [(".", "is a folder"), ("no/such/folder/r.xml", "no such folder")],
)
def test_a_junit_target_that_cannot_be_written_is_refused_before_the_call(
    tmp_path: Path, target: str, message: str
) -> None:
    result = tutor(
        "call",
        "--headless",
        "--text-only",
        "--script",
        "examples/taxi_bogota.toml",
        "--junit",
        str(tmp_path / target),
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"tutor: --junit: {tmp_path / target}")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == ""  # refused before the lesson began


def test_an_unknown_expected_tool_is_refused_before_the_call(tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text(
        'scenario = "a1_taxi_bogota"\n[[turns]]\nsay = "Hola"\nexpect.tool = "trigger_quizz"\n',
        encoding="utf-8",
    )
    result = tutor("call", "--headless", "--text-only", "--script", str(script))
    assert result.returncode == 2
    assert result.stderr == (
        f"tutor: {script}: 'turns[0].expect.tool': unknown tool 'trigger_quizz' "
        "(the tutor's tools: grade_lesson, trigger_quiz)\n"
    )
    assert not (tmp_path / "home").exists() or not list((tmp_path / "home").rglob("*.jsonl"))


def test_a_script_without_turns_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "empty.toml"
    script.write_text('scenario = "a1_taxi_bogota"\n[end]\nexpect.tool = "grade_lesson"\n')
    result = tutor("call", "--headless", "--text-only", "--script", str(script))
    assert result.returncode == 2
    assert result.stderr == (
        f"tutor: {script}: no turns: a script needs at least one [[turns]] with a 'say'\n"
    )
