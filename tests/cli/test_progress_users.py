"""`tutor progress` on a classroom relay's data folder: one learner's record (`--user NAME`),
everyone's (`--all-users`), and the teacher's own view saying where the learners' sessions are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.cli_runner import tutor
from tests.storage.test_store import grade
from tutor_cli.storage.store import ProgressStore

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def relay_sessions() -> None:
    with ProgressStore.open_default() as db:
        for minutes, user, scenario, score in (
            (0, "ana", "a1_taxi_bogota", 80),
            (1, "ana", "a1_taxi_bogota", 90),
            (2, "bo", "a2_market_madrid", 60),
        ):
            sid = db.start_session(
                scenario=scenario,
                engine="offline",
                model="offline",
                log_path=f"/relay/sessions/{minutes}.jsonl",
                started_at=T0 + timedelta(minutes=minutes),
                user=user,
            )
            db.add_grade(sid, grade(score))


def test_one_users_progress_and_sessions() -> None:
    relay_sessions()
    table = tutor("progress", "--user", "ana")
    assert table.returncode == 0, table.stderr
    assert "a1_taxi_bogota" in table.stdout and "a2_market_madrid" not in table.stdout
    (row,) = json.loads(tutor("progress", "--user", "ana", "--json").stdout)
    assert (row["attempts"], row["best_score"], row["last_score"]) == (2, 90, 90)
    sessions = json.loads(tutor("progress", "a1_taxi_bogota", "--user", "ana", "--json").stdout)
    assert [s["score"] for s in sessions] == [90, 80]


def test_all_users_gives_a_row_per_learner_and_scenario() -> None:
    relay_sessions()
    rows = json.loads(tutor("progress", "--all-users", "--json").stdout)
    assert {(r["user"], r["scenario"], r["attempts"]) for r in rows} == {
        ("ana", "a1_taxi_bogota", 2),
        ("bo", "a2_market_madrid", 1),
    }
    table = tutor("progress", "--all-users").stdout
    assert table.splitlines()[0].split()[:2] == ["user", "scenario"]
    sessions = tutor("progress", "a1_taxi_bogota", "--all-users").stdout
    assert sessions.splitlines()[0].split()[:2] == ["started", "user"]


def test_the_teachers_own_progress_says_where_the_learners_sessions_are() -> None:
    relay_sessions()
    own = tutor("progress")
    assert own.returncode == 0 and own.stdout.startswith("No progress yet")
    assert "2 learners have sessions here: --user NAME or --all-users shows them." in own.stdout


def test_a_user_with_no_sessions_and_both_flags_are_one_line_errors() -> None:
    relay_sessions()
    unknown = tutor("progress", "--user", "cy")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "tutor: --user: no sessions of 'cy' here (users: ana, bo)"
    ]
    both = tutor("progress", "--user", "ana", "--all-users")
    assert both.returncode == 2 and "--user" in both.stderr and "--all-users" in both.stderr
