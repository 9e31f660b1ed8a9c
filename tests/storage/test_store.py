from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tutor_cli.errors import BadInput
from tutor_cli.storage import schema
from tutor_cli.storage.schema import SCHEMA_VERSION
from tutor_cli.storage.store import ProgressStore, ScenarioProgress, normalise_score
from tutor_cli.views.progress import NO_PROGRESS, print_progress, progress_rows

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def grade(score: float, **extra: Any) -> dict[str, Any]:
    return {
        "score": score,
        "goals_achieved": ["greet the driver", "give the address"],
        "errors": [{"said": "yo quiero ir a", "correction": "quiero ir a", "kind": "fluency"}],
        "feedback": "Muy bien. Practica las direcciones.",
        "next_steps": ["numbers 1-100"],
        **extra,
    }


def quiz(correct: int, questions: int = 4) -> dict[str, Any]:
    answers = [
        {"question": f"q{i}", "given": "sí", "expected": "sí", "correct": i < correct}
        for i in range(questions)
    ]
    return {"questions": questions, "correct": correct, "answers": answers, "focus": "mixed"}


@pytest.fixture
def db(tutor_home: Path) -> Iterator[ProgressStore]:
    with ProgressStore.open_default() as opened:
        yield opened


def session(db: ProgressStore, scenario: str, started_at: datetime) -> int:
    return db.start_session(
        scenario=scenario, engine="offline", model="tutor-offline", log_path=None,
        started_at=started_at,
    )  # fmt: skip


def test_sessions_grades_and_quizzes_round_trip(db: ProgressStore) -> None:
    sid = db.start_session(
        scenario="a1_taxi_bogota",
        engine="openai",
        model="gpt-realtime",
        log_path="/tmp/log.jsonl",
        started_at=T0,
    )
    stored_grade = db.add_grade(sid, grade(0.85), graded_at=T0 + timedelta(minutes=9))
    stored_quiz = db.add_quiz_result(sid, quiz(3), recorded_at=T0 + timedelta(minutes=5))
    db.end_session(
        sid,
        ended_at=T0 + timedelta(minutes=10),
        usage={"input_tokens": 1200, "output_tokens": 800},
        cost_usd=0.042,
    )

    assert stored_grade == {
        "session_id": sid,
        "graded_at": "2025-03-01T09:39:00.000000+00:00",
        "score": 85.0,
        "goals_achieved": ["greet the driver", "give the address"],
        "errors": [{"said": "yo quiero ir a", "correction": "quiero ir a", "kind": "fluency"}],
        "feedback": "Muy bien. Practica las direcciones.",
        "next_steps": ["numbers 1-100"],
    }
    json.dumps(stored_grade)  # it goes back to the model as the tool's output
    assert stored_quiz["score"] == 75.0 and stored_quiz["focus"] == "mixed"
    assert stored_quiz["session_id"] == sid and stored_quiz["questions"] == 4

    [saved] = db.sessions()
    assert saved["id"] == sid and saved["scenario"] == "a1_taxi_bogota"
    assert (saved["engine"], saved["model"], saved["log_path"]) == (
        "openai",
        "gpt-realtime",
        "/tmp/log.jsonl",
    )
    assert saved["started_at"] == "2025-03-01T09:30:00.000000+00:00"
    assert saved["ended_at"] == "2025-03-01T09:40:00.000000+00:00"
    assert saved["usage"] == {"input_tokens": 1200, "output_tokens": 800}
    assert saved["cost_usd"] == pytest.approx(0.042)
    assert saved["grade"] == stored_grade
    assert saved["quiz_results"] == [stored_quiz]


def test_sessions_are_newest_first_and_filter_by_scenario(db: ProgressStore) -> None:
    first = session(db, "a1_taxi_bogota", T0)
    second = session(db, "a2_market", T0 + timedelta(days=1))
    third = session(db, "a1_taxi_bogota", T0 + timedelta(days=2))
    db.add_quiz_result(second, quiz(1))
    db.end_session(third, ended_at=T0 + timedelta(days=2, minutes=3), usage={}, cost_usd=None)

    assert [s["id"] for s in db.sessions()] == [third, second, first]
    taxi = db.sessions("a1_taxi_bogota")
    assert [s["id"] for s in taxi] == [third, first]
    assert all(s["grade"] is None and s["quiz_results"] == [] for s in taxi)
    assert taxi[0]["cost_usd"] is None and taxi[0]["usage"] == {}
    assert taxi[1]["ended_at"] is None and taxi[1]["usage"] is None


def test_times_are_stored_in_utc_and_must_be_aware(db: ProgressStore) -> None:
    bogota = timezone(timedelta(hours=-5))
    sid = session(db, "a1_taxi_bogota", datetime(2025, 3, 1, 4, 30, tzinfo=bogota))
    assert db.sessions()[0]["started_at"] == "2025-03-01T09:30:00.000000+00:00"
    assert db.progress()[0].last_date == T0
    with pytest.raises(ValueError, match="no timezone"):
        session(db, "a1_taxi_bogota", datetime(2025, 3, 1, 9, 30))
    with pytest.raises(ValueError, match="no timezone"):
        db.end_session(sid, ended_at=datetime(2025, 3, 1), usage={}, cost_usd=None)


@pytest.mark.parametrize(
    ("given", "stored"),
    [(0.85, 85.0), (85, 85.0), (1, 100.0), (0, 0.0), (0.5, 50.0), (1.5, 1.5), (100, 100.0),
     (72.46, 72.5), (0.7777, 77.8)],
)  # fmt: skip
def test_scores_from_0_to_1_are_fractions_and_above_1_percentages(
    given: float, stored: float
) -> None:
    assert normalise_score(given) == stored


@pytest.mark.parametrize("bad", [-1, 150, 100.01, float("nan"), float("inf"), "85", True, None])
def test_scores_outside_0_to_100_are_refused(db: ProgressStore, bad: Any) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    with pytest.raises(ValueError, match="score"):
        db.add_grade(sid, grade(bad))
    assert db.sessions()[0]["grade"] is None


def test_malformed_grades_and_quizzes_are_refused(db: ProgressStore) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    incomplete = grade(0.5)
    del incomplete["feedback"]
    with pytest.raises(ValueError, match="feedback"):
        db.add_grade(sid, incomplete)
    with pytest.raises(ValueError, match="errors"):
        db.add_grade(sid, grade(0.5, errors=[{"said": "x"}]))
    with pytest.raises(ValueError, match="goals_achieved"):
        db.add_grade(sid, grade(0.5, goals_achieved="all of them"))
    with pytest.raises(ValueError, match="correct"):
        db.add_quiz_result(sid, quiz(5, questions=4))
    with pytest.raises(ValueError, match="questions"):
        db.add_quiz_result(sid, {**quiz(0), "questions": 0})
    with pytest.raises(ValueError, match="answer"):
        db.add_quiz_result(sid, {**quiz(1), "answers": [{"question": "q"}]})


def test_unknown_sessions_are_refused(db: ProgressStore) -> None:
    with pytest.raises(ValueError, match="no session 42"):
        db.add_grade(42, grade(0.9))
    with pytest.raises(ValueError, match="no session 42"):
        db.add_quiz_result(42, quiz(2))
    with pytest.raises(ValueError, match="no session 42"):
        db.end_session(42, ended_at=T0, usage={}, cost_usd=None)


def test_grading_a_session_again_replaces_its_grade(db: ProgressStore) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    db.add_grade(sid, grade(0.4))
    db.add_grade(sid, grade(0.6))
    assert db.sessions()[0]["grade"]["score"] == 60.0
    assert db.progress()[0].graded == 1


def test_progress_aggregates_each_scenario(db: ProgressStore) -> None:
    # taxi: three sessions, the best grade early, the latest session ungraded.
    taxi = [session(db, "a1_taxi_bogota", T0 + timedelta(days=d)) for d in (0, 1, 5)]
    db.add_grade(taxi[0], grade(0.9))
    db.add_grade(taxi[1], grade(62))
    # market: two sessions, started between taxi's; the later one is graded lower.
    market = [session(db, "a2_market", T0 + timedelta(days=d)) for d in (2, 3)]
    db.add_grade(market[1], grade(0.55))
    db.add_grade(market[0], grade(0.7))  # graded late, but it is the earlier session

    assert db.progress() == [
        ScenarioProgress(
            scenario="a1_taxi_bogota",
            attempts=3,
            graded=2,
            unfinished=0,
            best_score=90.0,
            average_score=76.0,
            last_score=62.0,
            last_date=T0 + timedelta(days=5),
        ),
        ScenarioProgress(
            scenario="a2_market",
            attempts=2,
            graded=2,
            unfinished=0,
            best_score=70.0,
            average_score=62.5,
            last_score=55.0,
            last_date=T0 + timedelta(days=3),
        ),
    ]
    # A newer market session puts it first.
    session(db, "a2_market", T0 + timedelta(days=6))
    assert [p.scenario for p in db.progress()] == ["a2_market", "a1_taxi_bogota"]


def test_progress_is_empty_without_sessions(db: ProgressStore) -> None:
    assert db.progress() == []
    assert db.sessions() == []


def test_the_file_is_owner_only_and_so_is_its_folder(tutor_home: Path) -> None:
    with ProgressStore.open_default() as db:
        session(db, "a1_taxi_bogota", T0)
        # While open, SQLite keeps its write-ahead log and index beside the file.
        companions = list(tutor_home.glob("progress.db-*"))
        assert companions
        for companion in companions:
            assert stat.S_IMODE(companion.stat().st_mode) == 0o600
    path = tutor_home / "progress.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tutor_home.stat().st_mode) == 0o700


def test_a_reader_works_while_another_connection_writes(tutor_home: Path) -> None:
    path = tutor_home / "progress.db"
    with ProgressStore(path) as writer, ProgressStore(path) as reader:
        session(writer, "a1_taxi_bogota", T0)
        held = sqlite3.connect(path, isolation_level=None)
        try:
            held.execute("BEGIN IMMEDIATE")
            held.execute(
                "INSERT INTO sessions (scenario, engine, model, started_at)"
                " VALUES ('a2_market', 'offline', 'm', '2025-03-02T00:00:00.000000+00:00')"
            )
            # The write is in flight: the reader sees the committed state and does not block.
            assert [p.scenario for p in reader.progress()] == ["a1_taxi_bogota"]
            held.execute("COMMIT")
        finally:
            held.close()
        assert {p.scenario for p in reader.progress()} == {"a1_taxi_bogota", "a2_market"}


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        version = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.close()
    return int(version)


def test_a_new_store_is_at_the_current_schema_version(tutor_home: Path) -> None:
    ProgressStore.open_default().close()
    assert SCHEMA_VERSION == len(schema.MIGRATIONS) >= 1
    assert user_version(tutor_home / "progress.db") == SCHEMA_VERSION


def test_an_older_database_is_upgraded_in_place(
    tutor_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProgressStore.open_default() as db:
        sid = session(db, "a1_taxi_bogota", T0)
        db.add_grade(sid, grade(0.8))
    path = tutor_home / "progress.db"
    current = user_version(path)

    upgrade = """
    ALTER TABLE sessions ADD COLUMN level TEXT;
    UPDATE sessions SET level = 'A1' WHERE scenario LIKE 'a1_%';
    """
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, upgrade])
    with ProgressStore(path) as db:
        assert db.sessions()[0]["grade"]["score"] == 80.0
    assert user_version(path) == current + 1
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT level FROM sessions").fetchall() == [("A1",)]
    finally:
        raw.close()


def test_a_failed_migration_leaves_the_database_as_it_was(
    tutor_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ProgressStore.open_default().close()
    path = tutor_home / "progress.db"
    broken = """
    ALTER TABLE sessions ADD COLUMN level TEXT;
    SELECT no_such_column FROM sessions;
    """
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        ProgressStore(path)
    assert user_version(path) == SCHEMA_VERSION
    raw = sqlite3.connect(path)
    try:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(sessions)")]
    finally:
        raw.close()
    assert "level" not in columns


def test_a_database_from_a_newer_tutor_is_refused(tutor_home: Path) -> None:
    ProgressStore.open_default().close()
    path = tutor_home / "progress.db"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(ValueError) as caught:
        ProgressStore(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"version {SCHEMA_VERSION + 1}" in message and f"version {SCHEMA_VERSION}" in message
    assert "\n" not in message
    assert isinstance(caught.value, BadInput)  # so the command line prints just the line


def test_a_file_that_is_not_sqlite_is_bad_input(tutor_home: Path) -> None:
    tutor_home.mkdir(parents=True)
    path = tutor_home / "progress.db"
    path.write_bytes(b"these are not the tables you are looking for\n" * 100)
    with pytest.raises(BadInput) as caught:
        ProgressStore(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_another_programs_sqlite_file_is_bad_input(tutor_home: Path) -> None:
    tutor_home.mkdir(parents=True)
    path = tutor_home / "progress.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE recipes (name TEXT)")
    raw.close()
    with pytest.raises(BadInput, match="not a tutor progress database"):
        ProgressStore(path)


@pytest.fixture
def india_time() -> Iterator[None]:
    # A POSIX TZ string needs no tz database: local time is UTC+5:30.
    before = os.environ.get("TZ")
    os.environ["TZ"] = "IST-5:30"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_progress_rows_are_json_ready_and_titled(db: ProgressStore) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    db.add_grade(sid, grade(0.85))
    session(db, "retired_scenario", T0 - timedelta(days=1))
    rows = progress_rows(db, {"a1_taxi_bogota": "Taxi in Bogotá"})
    assert rows == [
        {
            "scenario": "a1_taxi_bogota",
            "title": "Taxi in Bogotá",
            "attempts": 1,
            "graded": 1,
            "unfinished": 0,
            "best_score": 85.0,
            "average_score": 85.0,
            "last_score": 85.0,
            "last_date": "2025-03-01T09:30:00+00:00",
            "last_log_path": None,
        },
        {
            "scenario": "retired_scenario",
            "title": "retired_scenario",
            "attempts": 1,
            "graded": 0,
            "unfinished": 0,
            "best_score": None,
            "average_score": None,
            "last_score": None,
            "last_date": "2025-02-28T09:30:00+00:00",
            "last_log_path": None,
        },
    ]
    json.dumps(rows)


def test_print_progress_table(
    db: ProgressStore, capsys: pytest.CaptureFixture[str], india_time: None
) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    db.add_grade(sid, grade(0.85))
    session(db, "a2_market", T0 - timedelta(days=1))
    print_progress(progress_rows(db, {"a1_taxi_bogota": "Taxi in Bogotá"}), as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "scenario", "title", "attempts", "unfinished", "best", "avg", "last", "last", "date",
    ]  # fmt: skip
    assert lines[1].startswith("─")
    assert lines[2].split() == [
        "a1_taxi_bogota", "Taxi", "in", "Bogotá", "1", "0", "85", "85", "85", "2025-03-01", "15:00",
    ]  # fmt: skip
    assert lines[3].split() == [
        "a2_market", "a2_market", "1", "0", "-", "-", "-", "2025-02-28", "15:00",
    ]  # fmt: skip
    assert lines[4:] == ["", "One scenario's sessions and their logs: tutor progress SCENARIO"]


def test_print_progress_json(db: ProgressStore, capsys: pytest.CaptureFixture[str]) -> None:
    sid = session(db, "a1_taxi_bogota", T0)
    db.add_quiz_result(sid, quiz(2))
    rows = progress_rows(db, {"a1_taxi_bogota": "Taxi in Bogotá"})
    print_progress(rows, as_json=True)
    out = capsys.readouterr().out
    assert json.loads(out) == rows
    assert "Bogotá" in out  # not \u-escaped


def test_print_progress_when_there_is_none(capsys: pytest.CaptureFixture[str]) -> None:
    print_progress([], as_json=False)
    out = capsys.readouterr().out
    assert out == NO_PROGRESS + "\n" and "tutor call SCENARIO" in out
    print_progress([], as_json=True)
    assert json.loads(capsys.readouterr().out) == []


def test_hostile_titles_and_ids_are_printed_literally(
    db: ProgressStore, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile_id = "evil\x1b]0;pwned\x07"
    session(db, hostile_id, T0)
    titles = {hostile_id: "\x1b[2J\x1b[31mred\x9b1m\x7f"}
    rows = progress_rows(db, titles)

    print_progress(rows, as_json=False)
    table = capsys.readouterr().out
    assert "\x1b" not in table and "\x9b" not in table and "\x07" not in table
    assert "\x7f" not in table
    assert "␛[2J␛[31mred" in table and "evil␛]0;pwned␇" in table

    print_progress(rows, as_json=True)
    out = capsys.readouterr().out
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", out)
    assert json.loads(out) == rows  # escaped, not altered
