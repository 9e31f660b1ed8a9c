"""What a session was: live or scripted, finished or ended early; a quiz answered or skipped.
Scripted sessions and unfinished attempts are kept, but they are not the learner's scores."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tutor_cli.storage import schema
from tutor_cli.storage.store import ProgressStore
from tutor_cli.views.progress import progress_rows

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
GRADE = {
    "goals_achieved": ["greet the driver"],
    "errors": [],
    "feedback": "Bien.",
    "next_steps": [],
}


@pytest.fixture
def db(tutor_home: Path) -> Iterator[ProgressStore]:
    with ProgressStore.open_default() as opened:
        yield opened


def played(
    db: ProgressStore,
    day: int,
    score: float | None,
    *,
    kind: str = "live",
    finished: bool | None = True,
    scenario: str = "a1_taxi_bogota",
) -> int:
    sid = db.start_session(
        scenario=scenario,
        engine="offline",
        model="offline",
        log_path=f"/logs/{scenario}-{day}.jsonl",
        started_at=T0 + timedelta(days=day),
        kind=kind,  # type: ignore[arg-type]
    )
    if score is not None:
        db.add_grade(sid, {"score": score, **GRADE})
    db.end_session(
        sid, ended_at=T0 + timedelta(days=day, minutes=5), usage={}, cost_usd=None,
        finished=finished,
    )  # fmt: skip
    return sid


def skipped_quiz(questions: int = 4) -> dict[str, Any]:
    answers = [
        {"question": f"q{i}", "given": "", "expected": "sí", "correct": False}
        for i in range(questions)
    ]
    return {"questions": questions, "correct": 0, "answers": answers, "skipped": True}


def test_a_session_keeps_its_kind_and_whether_it_was_finished(db: ProgressStore) -> None:
    live = played(db, 0, 80)
    scripted = played(db, 1, 90, kind="scripted", finished=False)
    unknown = played(db, 2, None, finished=None)
    by_id = {s["id"]: s for s in db.sessions()}
    assert (by_id[live]["kind"], by_id[live]["finished"]) == ("live", True)
    assert (by_id[scripted]["kind"], by_id[scripted]["finished"]) == ("scripted", False)
    assert by_id[unknown]["finished"] is None
    assert [s["id"] for s in db.sessions(include_scripted=False)] == [unknown, live]


def test_an_unknown_kind_is_refused(db: ProgressStore) -> None:
    with pytest.raises(ValueError, match="kind"):
        played(db, 0, None, kind="rehearsal")


def test_scripted_sessions_are_not_the_learners_progress(db: ProgressStore) -> None:
    played(db, 0, 60)
    played(db, 1, 100, kind="scripted")
    played(db, 2, 95, kind="scripted", scenario="b1_cafe_paris")
    (taxi,) = db.progress()
    assert (taxi.attempts, taxi.best_score, taxi.last_score) == (1, 60.0, 60.0)
    everything = {p.scenario: p for p in db.progress(include_scripted=True)}
    assert everything["a1_taxi_bogota"].attempts == 2
    assert everything["a1_taxi_bogota"].best_score == 100.0
    assert everything["b1_cafe_paris"].attempts == 1


def test_unfinished_attempts_count_as_attempts_but_not_in_the_scores(
    db: ProgressStore,
) -> None:
    played(db, 0, 80)
    played(db, 1, 60)
    played(db, 2, 0, finished=False)  # ended early: the grade it had is no score
    played(db, 3, None, finished=False)
    played(db, 4, 40, finished=None)  # from before sessions said: counted as it was
    (taxi,) = db.progress()
    assert (taxi.attempts, taxi.graded, taxi.unfinished) == (5, 3, 2)
    assert taxi.best_score == 80.0
    assert taxi.average_score == 60.0
    assert taxi.last_score == 40.0
    assert taxi.last_log_path == "/logs/a1_taxi_bogota-4.jsonl"


def test_a_skipped_quiz_is_stored_as_skipped(db: ProgressStore) -> None:
    sid = played(db, 0, 70)
    stored = db.add_quiz_result(sid, skipped_quiz())
    assert stored["skipped"] is True and stored["correct"] == 0
    answered = db.add_quiz_result(
        sid,
        {"questions": 1, "correct": 1, "answers": [
            {"question": "q", "given": "sí", "expected": "sí", "correct": True}
        ]},
    )  # fmt: skip
    assert answered["skipped"] is False
    (row,) = db.sessions()
    assert [q["skipped"] for q in row["quiz_results"]] == [True, False]


def test_a_skipped_quiz_with_right_answers_is_refused(db: ProgressStore) -> None:
    sid = played(db, 0, 70)
    with pytest.raises(ValueError, match="skipped"):
        db.add_quiz_result(sid, {**skipped_quiz(), "correct": 2})
    with pytest.raises(ValueError, match="skipped"):
        db.add_quiz_result(sid, {**skipped_quiz(), "skipped": "yes"})


def version_1_database(path: Path) -> None:
    """A progress file as tutor wrote it before sessions had a kind (schema version 1)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = sqlite3.connect(path)
    for statement in schema.statements(schema.MIGRATIONS[0]):
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 1")
    raw.execute(
        "INSERT INTO sessions (id, scenario, engine, model, log_path, started_at, ended_at)"
        " VALUES (1, 'a1_taxi_bogota', 'offline', 'offline', '/logs/old.jsonl',"
        " '2025-01-01T10:00:00.000000+00:00', '2025-01-01T10:05:00.000000+00:00')"
    )
    raw.execute(
        "INSERT INTO grades VALUES (1, '2025-01-01T10:05:00.000000+00:00', 75, '[]', '[]',"
        " 'ok', '[]')"
    )
    raw.execute(
        "INSERT INTO quiz_results (session_id, recorded_at, questions, correct, score, answers,"
        " details) VALUES (1, '2025-01-01T10:04:00.000000+00:00', 4, 0, 0, '[]', '{}')"
    )
    raw.commit()
    raw.close()


def test_a_version_1_database_is_migrated_in_place(tutor_home: Path) -> None:
    path = tutor_home / "progress.db"
    version_1_database(path)
    with ProgressStore(path) as db:
        (old,) = db.sessions()
        assert (old["kind"], old["finished"]) == ("live", None)
        assert old["quiz_results"][0]["skipped"] is False
        assert old["grade"]["score"] == 75
        (taxi,) = db.progress()
        assert (taxi.attempts, taxi.best_score, taxi.unfinished) == (1, 75.0, 0)
        played(db, 30, 50, kind="scripted")
        assert db.progress()[0].attempts == 1
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 2
    raw.close()


def test_progress_rows_leave_scripted_sessions_out_unless_asked(db: ProgressStore) -> None:
    played(db, 0, 70)
    played(db, 1, 100, kind="scripted", scenario="b1_cafe_paris")
    rows = progress_rows(db, {})
    assert [r["scenario"] for r in rows] == ["a1_taxi_bogota"]
    assert rows[0]["last_log_path"] == "/logs/a1_taxi_bogota-0.jsonl"
    assert {"unfinished", "average_score"} <= set(rows[0])
    everything = progress_rows(db, {}, include_scripted=True)
    assert [r["scenario"] for r in everything] == ["b1_cafe_paris", "a1_taxi_bogota"]
