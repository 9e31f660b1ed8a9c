"""What a call leaves behind, as a learner sees it: the summary printed at the end, and
`tutor progress` telling scripted runs, unfinished attempts and skipped quizzes apart, with each
session's log."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.cli_runner import tutor

SAY = ("call", "a1_taxi_bogota", "--headless", "--text-only")


def only_log(home: Path) -> Path:
    (log,) = sorted((home / "sessions").glob("*.jsonl"))
    return log


def summary_of(out: str) -> str:
    return out.split("── lesson summary ──")[1]


def test_a_headless_call_leaves_its_summary_with_the_replay_command(tutor_home: Path) -> None:
    result = tutor(*SAY, "--say", "Buenas tardes, muy bien")
    assert result.returncode == 0, result.stderr
    summary = summary_of(result.stdout)
    log = only_log(tutor_home)
    # The learner's lines ran out before the lesson did: the grade it had is no score.
    assert re.search(r"score  unfinished \(graded \d+/100 when it ended\)", summary)
    assert "goals  ✓ Greet someone politely and say how you are" in summary
    assert "✗ Thank someone and say goodbye" in summary
    assert f"log  {log}" in summary
    assert f"replay  tutor replay {shlex.quote(str(log))}" in summary
    assert re.search(r"tokens  \d{1,3}(,\d{3})* in, \d+ out\n", summary)  # offline: no cost
    assert "$" not in summary
    before = result.stdout.split("── lesson summary ──")[0]
    assert "lesson ended at step 2 of 6" in before and "lesson complete" not in before


def test_scripted_runs_are_left_out_of_progress_unless_all(tutor_home: Path) -> None:
    assert tutor(*SAY, "--say", "Buenas tardes, muy bien").returncode == 0
    assert tutor(*SAY, stdin="Buenas tardes\n").returncode == 0  # piped lines: scripted too
    progress = tutor("progress")
    assert progress.returncode == 0, progress.stderr
    assert progress.stdout.startswith("No progress yet")
    assert "2 scripted sessions are left out: --all shows them." in progress.stdout
    assert json.loads(tutor("progress", "--json").stdout) == []
    (row,) = json.loads(tutor("progress", "--all", "--json").stdout)
    assert (row["attempts"], row["unfinished"], row["graded"]) == (2, 2, 0)
    assert row["best_score"] is None and row["average_score"] is None
    assert "unfinished" in tutor("progress", "--all").stdout.splitlines()[0]


def test_progress_lists_a_scenarios_sessions_with_whole_log_paths(tutor_home: Path) -> None:
    assert tutor(*SAY, "--say", "quiz").returncode == 0  # the quiz comes; no answer is given
    log = only_log(tutor_home)
    hidden = tutor("progress", "a1_taxi_bogota")
    assert hidden.returncode == 0, hidden.stderr
    assert hidden.stdout.startswith("No sessions of a1_taxi_bogota yet")
    assert "1 scripted session is left out: --all shows them." in hidden.stdout
    narrow = tutor("progress", "a1_taxi_bogota", "--all", env={"COLUMNS": "40"})
    assert narrow.returncode == 0, narrow.stderr
    header, _rule, line = narrow.stdout.splitlines()[:3]
    assert header.split() == ["started", "kind", "engine", "result", "quiz", "log"]
    assert line.split()[2:] == ["scripted", "offline", "unfinished", "skipped", str(log)]
    assert "…" not in narrow.stdout
    (session,) = json.loads(tutor("progress", "a1_taxi_bogota", "--all", "--json").stdout)
    assert session["log_path"] == str(log)
    assert session["quiz"] == {"questions": 4, "correct": 0, "skipped": True}
    assert (session["kind"], session["finished"]) == ("scripted", False)


def test_progress_of_an_unknown_scenario_suggests_ids(tutor_home: Path) -> None:
    result = tutor("progress", "taxi")
    assert result.returncode == 2
    assert result.stderr.strip() == "tutor: unknown scenario 'taxi' (did you mean a1_taxi_bogota?)"


def test_a_lesson_the_tutor_grades_itself_is_finished(tutor_home: Path) -> None:
    # The taxi script walks every step: the tutor quizzes and grades on its own.
    result = tutor("call", "--headless", "--text-only", "--script", "examples/taxi_bogota.toml")
    assert result.returncode == 0, result.stdout[-2000:]
    assert re.search(r"score  \d+/100\n", summary_of(result.stdout))
    assert "asking the tutor for a grade" not in result.stdout
    (session,) = json.loads(tutor("progress", "a1_taxi_bogota", "--all", "--json").stdout)
    assert (session["kind"], session["finished"]) == ("scripted", True)
    (row,) = json.loads(tutor("progress", "--all", "--json").stdout)
    assert (row["graded"], row["unfinished"]) == (1, 0) and row["best_score"] is not None
