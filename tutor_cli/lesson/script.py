"""Scripted sessions: a TOML file of learner turns with expectations, for lesson authors' CI.

    scenario = "a1_taxi_bogota"      # used when the command line names none
    timeout_s = 30                    # per turn, optional
    [[turns]]
    say = "Buenas tardes."
    expect.reply = "(?i)a d[oó]nde"   # regex searched in the tutor's reply to this turn
    expect.tool = "trigger_quiz"      # a tool the tutor calls before the next turn
    [end]
    expect.tool = "grade_lesson"      # called by the end of the session
    quiz_answers = ["la calle", "¿cuánto cuesta?"]

Unknown keys are errors, so a typo cannot silently switch a check off.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import field
from functools import cache
from pathlib import Path
from typing import Any

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import SCENARIO_ID
from tutor_cli.toml_files import read_toml
from tutor_cli.tools.specs import TOOL_SPECS


@datatype
class Expectation:
    reply: re.Pattern[str] | None = None
    tool: str | None = None


@datatype
class ScriptTurn:
    say: str
    expect: Expectation = Expectation()


@datatype
class Script:
    path: Path
    scenario: str | None
    timeout_s: float | None
    turns: tuple[ScriptTurn, ...]
    end: Expectation
    quiz_answers: tuple[str, ...]


def _keys(path: Path, where: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise BadInput(f"{path}: unknown key '{name}' (allowed: {', '.join(sorted(allowed))})")


def _expectation(path: Path, where: str, value: Any) -> Expectation:
    if value is None:
        return Expectation()
    if not isinstance(value, dict):
        raise BadInput(f"{path}: '{where}' must be a table")
    _keys(path, where, value, {"reply", "tool"})
    reply, tool = value.get("reply"), value.get("tool")
    if reply is not None and not isinstance(reply, str):
        raise BadInput(f"{path}: '{where}.reply' must be a string (a regular expression)")
    if tool is not None and not isinstance(tool, str):
        raise BadInput(f"{path}: '{where}.tool' must be a tool name")
    if tool is not None and tool not in TOOL_SPECS:
        # A misspelt tool could never be called: the check would fail at the end of the run.
        known = ", ".join(sorted(TOOL_SPECS))
        raise BadInput(
            f"{path}: '{where}.tool': unknown tool {tool!r} (the tutor's tools: {known})"
        )
    try:
        pattern = re.compile(reply) if reply is not None else None
    except re.error as exc:
        raise BadInput(f"{path}: '{where}.reply': invalid regular expression: {exc}") from None
    return Expectation(pattern, tool)


def load_script(path: Path) -> Script:
    """Read and check a script; any problem is one `BadInput` line naming the key."""
    data = read_toml(path)
    _keys(path, "", data, {"scenario", "timeout_s", "turns", "end"})
    scenario = data.get("scenario")
    if scenario is not None and (
        not isinstance(scenario, str) or not SCENARIO_ID.fullmatch(scenario)
    ):
        raise BadInput(f"{path}: 'scenario' must be a scenario id ([a-z0-9_]+)")
    timeout = data.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)  # TOML has nan and inf; a turn must end
        or timeout <= 0
    ):
        raise BadInput(f"{path}: 'timeout_s' must be a positive number of seconds")
    raw_turns = data.get("turns", [])
    if not isinstance(raw_turns, list):
        raise BadInput(f"{path}: 'turns' must be an array of tables ([[turns]])")
    turns = []
    for index, turn in enumerate(raw_turns):
        where = f"turns[{index}]"
        if not isinstance(turn, dict):
            raise BadInput(f"{path}: '{where}' must be a table")
        _keys(path, where, turn, {"say", "expect"})
        say = turn.get("say")
        if not isinstance(say, str) or not say.strip():
            raise BadInput(f"{path}: '{where}.say' must be a non-empty string")
        turns.append(ScriptTurn(say, _expectation(path, f"{where}.expect", turn.get("expect"))))
    if not turns:  # nothing would be checked, and "0/0 checks passed" would read as a pass
        raise BadInput(f"{path}: no turns: a script needs at least one [[turns]] with a 'say'")
    end = data.get("end", {})
    if not isinstance(end, dict):
        raise BadInput(f"{path}: 'end' must be a table")
    _keys(path, "end", end, {"expect", "quiz_answers"})
    answers = end.get("quiz_answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise BadInput(f"{path}: 'end.quiz_answers' must be a list of strings")
    return Script(
        path,
        scenario,
        float(timeout) if timeout is not None else None,
        tuple(turns),
        _expectation(path, "end.expect", end.get("expect")),
        tuple(answers),
    )


@datatype(frozen=False)
class Check:
    """One expectation and how it went."""

    name: str
    passed: bool
    detail: str


@datatype(frozen=False)
class Report:
    script: Path
    checks: list[Check] = field(default_factory=list)
    failure: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None and all(c.passed for c in self.checks)


def check_turn(index: int, turn: ScriptTurn, reply: str, tools: list[str]) -> list[Check]:
    """The checks of one turn, given the tutor's reply to it and the tools it called."""
    checks = []
    label = f"turn {index + 1} ({turn.say!r})"
    if turn.expect.reply is not None:
        found = turn.expect.reply.search(reply) is not None
        checks.append(
            Check(
                f"{label}: reply matches /{turn.expect.reply.pattern}/",
                found,
                f"got: {reply!r}" if not found else "",
            )
        )
    if turn.expect.tool is not None:
        called = turn.expect.tool in tools
        checks.append(
            Check(
                f"{label}: tutor calls {turn.expect.tool}",
                called,
                f"tools called: {', '.join(tools) or 'none'}" if not called else "",
            )
        )
    return checks


def check_end(end: Expectation, tools: list[str]) -> list[Check]:
    if end.tool is None:
        return []
    called = end.tool in tools
    detail = "" if called else f"tools called: {', '.join(tools) or 'none'}"
    return [Check(f"end: tutor calls {end.tool}", called, detail)]


@cache
def _not_xml() -> re.Pattern[str]:
    """What XML 1.0 cannot hold: all but tab, newline, carriage return, and the planes minus
    surrogates and U+FFFE/U+FFFF (a reply, a server-chosen tool name or a regex may hold
    anything). Compiled on first use: the class takes ~5 ms to build, and few calls write JUnit."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """`text` without the characters an XML 1.0 document cannot hold."""
    return _not_xml().sub("", text)


def check_report_target(path: Path) -> None:
    """`BadInput` for a `--junit` path that cannot be written, before the session starts."""
    if path.is_dir():
        raise BadInput(f"--junit: {path} is a folder; name an .xml file")
    if not path.parent.is_dir():
        raise BadInput(f"--junit: {path}: no such folder {str(path.parent)!r}")


def write_junit(report: Report, path: Path, duration_s: float) -> None:
    """A JUnit XML report: one test case per expectation. It holds the tutor's replies, so it
    is owner-only like the event logs."""
    from xml.etree import ElementTree

    failures = sum(not c.passed for c in report.checks)
    classname = _xml(report.script.stem)
    suite = ElementTree.Element(
        "testsuite",
        name=_xml(f"tutor script {report.script.name}"),
        tests=str(len(report.checks) + (1 if report.failure else 0)),
        failures=str(failures),
        errors="1" if report.failure else "0",
        time=f"{duration_s:.3f}",
    )
    for check in report.checks:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=_xml(check.name))
        if not check.passed:
            detail = _xml(check.detail)
            ElementTree.SubElement(case, "failure", message=detail).text = detail
    if report.failure:
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name="session")
        failure = _xml(report.failure)
        ElementTree.SubElement(case, "error", message=failure).text = failure
    document = ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            # O_CREAT's mode applies only to a new file: narrow an existing report (truncated,
            # so nothing new was readable) too. Not a device: /dev/stdout keeps its mode.
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fchmod(fd, 0o600)
            out.write(document)
    except OSError as exc:
        raise BadInput(f"--junit: {path}: cannot write: {exc.strerror or exc}") from None
