"""The progress store's schema, as the migrations that build it.

The schema version lives in `PRAGMA user_version`; `MIGRATIONS[n]` takes a database from version
n to n + 1 in one transaction. Adding a schema change means appending one script here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

MIGRATIONS: list[str] = [
    # 1: sessions, one grade per session, any number of quiz results per session.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        engine TEXT NOT NULL,
        model TEXT NOT NULL,
        log_path TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        usage TEXT,
        cost_usd REAL
    );
    CREATE INDEX sessions_by_scenario ON sessions (scenario, started_at);
    CREATE TABLE grades (
        session_id INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
        graded_at TEXT NOT NULL,
        score REAL NOT NULL CHECK (score BETWEEN 0 AND 100),
        goals_achieved TEXT NOT NULL,
        errors TEXT NOT NULL,
        feedback TEXT NOT NULL,
        next_steps TEXT NOT NULL
    );
    CREATE TABLE quiz_results (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        recorded_at TEXT NOT NULL,
        questions INTEGER NOT NULL,
        correct INTEGER NOT NULL,
        score REAL NOT NULL,
        answers TEXT NOT NULL,
        details TEXT NOT NULL
    );
    CREATE INDEX quiz_results_by_session ON quiz_results (session_id);
    """,
    # 2: what a session was. `kind`: a lesson the learner held ('live') or one driven by a
    # script or --say lines ('scripted'), which is no measure of the learner. `finished`: 1 the
    # lesson reached its end, 0 the learner ended it early, NULL unknown (sessions from before
    # this was kept). `skipped`: the learner answered none of the quiz.
    """
    ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'live'
        CHECK (kind IN ('live', 'scripted'));
    ALTER TABLE sessions ADD COLUMN finished INTEGER CHECK (finished IN (0, 1));
    ALTER TABLE quiz_results ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0
        CHECK (skipped IN (0, 1));
    """,
    # 3: whose session it was. A classroom relay holds lessons for many learners and keeps
    # each one's under the name the teacher gave them; NULL is the learner of this store.
    """
    ALTER TABLE sessions ADD COLUMN user TEXT;
    """,
]

SCHEMA_VERSION: int = len(MIGRATIONS)


def statements(script: str) -> Iterator[str]:
    # `executescript` would commit the migration's transaction before running, so the script
    # is run statement by statement; `complete_statement` knows where each one ends.
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        yield pending
