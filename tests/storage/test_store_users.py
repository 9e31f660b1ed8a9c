"""Sessions held for someone else: a classroom relay stores each learner's sessions under the
name the teacher gave them, and a learner's own store keeps sessions with no name, as before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.storage.test_store import grade
from tutor_cli.storage import schema
from tutor_cli.storage.store import ProgressStore

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def start(db: ProgressStore, scenario: str, minutes: int, user: str | None) -> int:
    return db.start_session(
        scenario=scenario,
        engine="offline",
        model="offline",
        log_path=None,
        started_at=T0 + timedelta(minutes=minutes),
        user=user,
    )


def test_a_version_2_store_gains_a_user_column_and_keeps_its_sessions(tutor_home: Path) -> None:
    tutor_home.mkdir(parents=True)
    path = tutor_home / "progress.db"
    raw = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:2]:
        for statement in schema.statements(script):
            raw.execute(statement)
    raw.execute(
        "INSERT INTO sessions (scenario, engine, model, started_at) VALUES (?, ?, ?, ?)",
        ("a1_taxi_bogota", "offline", "offline", T0.isoformat(timespec="microseconds")),
    )
    raw.execute("PRAGMA user_version = 2")
    raw.close()
    with ProgressStore(path) as db:
        (row,) = db.sessions()
        assert row["user"] is None and row["scenario"] == "a1_taxi_bogota"
    raw = sqlite3.connect(path)
    try:
        columns = {row[1]: row for row in raw.execute("PRAGMA table_info(sessions)")}
    finally:
        raw.close()
    assert "user" in columns and columns["user"][3] == 0  # nullable


def test_sessions_and_progress_are_kept_apart_by_user(tutor_home: Path) -> None:
    with ProgressStore.open_default() as db:
        mine = start(db, "a1_taxi_bogota", 0, None)
        ana = start(db, "a1_taxi_bogota", 1, "ana")
        ana_again = start(db, "a2_market", 2, "ana")
        bo = start(db, "a1_taxi_bogota", 3, "bo")
        for sid, score in ((mine, 50), (ana, 90), (ana_again, 70), (bo, 60)):
            db.add_grade(sid, grade(score))

        assert [s["id"] for s in db.sessions()] == [mine]  # the learner's own, by default
        assert [s["id"] for s in db.sessions(user="ana")] == [ana_again, ana]
        assert [s["user"] for s in db.sessions(all_users=True)] == ["bo", "ana", "ana", None]
        assert [s["id"] for s in db.sessions("a1_taxi_bogota", user="bo")] == [bo]

        (own,) = db.progress()
        assert (own.user, own.best_score) == (None, 50)
        assert {(p.scenario, p.best_score) for p in db.progress(user="ana")} == {
            ("a1_taxi_bogota", 90),
            ("a2_market", 70),
        }
        everyone = {(p.user, p.scenario): p.attempts for p in db.progress(all_users=True)}
        assert everyone == {
            (None, "a1_taxi_bogota"): 1,
            ("ana", "a1_taxi_bogota"): 1,
            ("ana", "a2_market"): 1,
            ("bo", "a1_taxi_bogota"): 1,
        }
        assert db.count_sessions("live", user="ana") == 2
        assert db.count_sessions("live", all_users=True) == 4
        assert db.users() == ["ana", "bo"]
