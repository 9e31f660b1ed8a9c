"""The learner's progress: one SQLite file of sessions, their grades and quiz results.

Times are timezone-aware UTC datetimes, stored as fixed-width ISO-8601 text so that text order
is time order. Lists (goals met, errors, next steps, quiz answers) and token usage are JSON text.

The schema and its migrations are in `schema.py`: an older file is upgraded in place the first
time a newer tutor opens it, and a newer file is refused rather than misread.

The file is in WAL mode so `tutor progress` can read while a call is writing, and every
connection waits (`timeout`) instead of failing when another one holds the write lock.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from tutor_cli.errors import BadInput
from tutor_cli.storage import paths, schema

# Seconds a connection waits for another one's write lock before giving up.
LOCK_TIMEOUT = 10.0


# Keys the store sets itself on a quiz result; the caller's values for them are not kept.
_QUIZ_OWN_KEYS = frozenset(
    {"session_id", "recorded_at", "questions", "correct", "answers", "score"}
)


class SchemaTooNew(BadInput, ValueError):
    """The file was written by a newer tutor whose schema this one does not know.

    A `ValueError` for callers of the store, and a `BadInput` so the command line prints the
    one-line message instead of a traceback.
    """


@dataclass(frozen=True)
class ScenarioProgress:
    """How a learner has done on one scenario, over all its sessions."""

    scenario: str
    attempts: int
    graded: int
    best_score: float | None
    last_score: float | None
    last_date: datetime | None


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} has no timezone; give an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def normalise_score(score: Any) -> float:
    """A grade's score as a percentage rounded to one decimal.

    0 <= score <= 1 is a fraction (so 1 means 100%, 0.85 means 85%); 1 < score <= 100 is
    already a percentage. Anything else raises ValueError.
    """
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError(f"score must be a number from 0 to 100, got {score!r}")
    if not 0 <= score <= 100:
        raise ValueError(f"score {score!r} is outside 0-100 (or 0-1 as a fraction)")
    percent = score * 100 if score <= 1 else score
    return round(float(percent), 1)


def _strings(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{field} must be a list of strings, got {value!r}")
    return list(value)


def _grade_errors(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise ValueError(f"errors must be a list, got {value!r}")
    errors = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) for key in ("said", "correction", "kind")
        ):
            raise ValueError(f"errors: each needs string said, correction and kind, got {item!r}")
        errors.append({key: item[key] for key in ("said", "correction", "kind")})
    return errors


def _quiz_answers(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError(f"answers must be a list, got {value!r}")
    answers = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not all(isinstance(item.get(key), str) for key in ("question", "given", "expected"))
            or not isinstance(item.get("correct"), bool)
        ):
            raise ValueError(
                "answers: each needs string question, given and expected and a boolean "
                f"correct, got {item!r}"
            )
        answers.append({key: item[key] for key in ("question", "given", "expected", "correct")})
    return answers


def _create_private_file(path: Path) -> None:
    # sqlite3 would create the file with the umask's mode (often world-readable); creating it
    # first, empty, makes it owner-only. SQLite gives its -wal and -shm files the same mode.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


class ProgressStore:
    """Sessions, grades and quiz results in one SQLite file."""

    def __init__(self, path: Path) -> None:
        """Open the store at `path`, creating it (owner-only) and upgrading its schema if needed.

        Raises BadInput if the file is not a tutor progress database, SchemaTooNew (a
        ValueError) if a newer tutor wrote it.
        """
        self.path = path
        paths.ensure_private_dir(path.parent)
        if not path.exists():
            _create_private_file(path)
        try:
            # Autocommit: each write is its own transaction, migrations open theirs explicitly.
            self._db = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise BadInput(f"{path}: cannot open the progress database ({exc})") from exc
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_CANTOPEN):
                raise BadInput(f"{path}: not a readable tutor progress database ({exc})") from exc
            raise
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open_default(cls) -> ProgressStore:
        """The store in the tutor's data folder."""
        return cls(paths.progress_db_path())

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        target = len(schema.MIGRATIONS)
        if self._version() == target:
            return
        while True:
            # The version is read again under the write lock: another process may have
            # upgraded the file since, and a migration must never run twice.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._version()
                if version > target:
                    raise SchemaTooNew(
                        f"{self.path}: schema version {version} was written by a newer tutor; "
                        f"this one knows up to version {target}. Upgrade tutor to read it."
                    )
                if version == 0 and self._db.execute("SELECT 1 FROM sqlite_master").fetchone():
                    raise BadInput(
                        f"{self.path}: an SQLite database, but not a tutor progress database"
                    )
                if version == target:
                    self._db.execute("COMMIT")
                    return
                for statement in schema.statements(schema.MIGRATIONS[version]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _require_session(self, session_id: int) -> None:
        row = self._db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise ValueError(f"no session {session_id!r} in {self.path}")

    def start_session(
        self,
        *,
        scenario: str,
        engine: str,
        model: str,
        log_path: str | None,
        started_at: datetime,
    ) -> int:
        """Record the start of a call; returns the session id the other methods take."""
        cursor = self._db.execute(
            "INSERT INTO sessions (scenario, engine, model, log_path, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scenario, engine, model, log_path, _timestamp(started_at)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def end_session(
        self,
        session_id: int,
        *,
        ended_at: datetime,
        usage: dict[str, int],
        cost_usd: float | None,
    ) -> None:
        """Record the end of a call, its token usage and (if known) what it cost."""
        if not isinstance(usage, dict):
            raise ValueError(f"usage must be a dict, got {usage!r}")
        self._require_session(session_id)
        self._db.execute(
            "UPDATE sessions SET ended_at = ?, usage = ?, cost_usd = ? WHERE id = ?",
            (_timestamp(ended_at), json.dumps(usage), cost_usd, session_id),
        )

    def add_grade(
        self, session_id: int, grade: dict[str, Any], *, graded_at: datetime | None = None
    ) -> dict[str, Any]:
        """Store the grade_lesson arguments for a session and return what was stored.

        The score is normalised to a percentage (see `normalise_score`). A session has one
        grade: grading it again replaces the earlier one. Raises ValueError for a score
        outside 0-100, malformed fields, or an unknown session.
        """
        for field in ("score", "goals_achieved", "errors", "feedback", "next_steps"):
            if field not in grade:
                raise ValueError(f"grade is missing {field!r}")
        if not isinstance(grade["feedback"], str):
            raise ValueError(f"feedback must be a string, got {grade['feedback']!r}")
        stored: dict[str, Any] = {
            "session_id": session_id,
            "graded_at": _timestamp(graded_at or datetime.now(UTC)),
            "score": normalise_score(grade["score"]),
            "goals_achieved": _strings(grade["goals_achieved"], "goals_achieved"),
            "errors": _grade_errors(grade["errors"]),
            "feedback": grade["feedback"],
            "next_steps": _strings(grade["next_steps"], "next_steps"),
        }
        self._require_session(session_id)
        self._db.execute(
            "INSERT OR REPLACE INTO grades (session_id, graded_at, score, goals_achieved, errors,"
            " feedback, next_steps) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                stored["graded_at"],
                stored["score"],
                json.dumps(stored["goals_achieved"], ensure_ascii=False),
                json.dumps(stored["errors"], ensure_ascii=False),
                stored["feedback"],
                json.dumps(stored["next_steps"], ensure_ascii=False),
            ),
        )
        return stored

    def add_quiz_result(
        self, session_id: int, result: dict[str, Any], *, recorded_at: datetime | None = None
    ) -> dict[str, Any]:
        """Store a quiz result for a session and return what was stored.

        `result` has `questions`, `correct` and `answers`; other keys (such as `focus`) are kept
        as they are. The stored result adds `score` (percentage correct), `recorded_at` and
        `session_id`. Raises ValueError for malformed fields or an unknown session.
        """
        questions, correct = result.get("questions"), result.get("correct")
        if isinstance(questions, bool) or not isinstance(questions, int) or questions < 1:
            raise ValueError(f"questions must be a positive integer, got {questions!r}")
        if isinstance(correct, bool) or not isinstance(correct, int) or correct < 0:
            raise ValueError(f"correct must be a non-negative integer, got {correct!r}")
        if correct > questions:
            raise ValueError(f"correct ({correct}) is more than questions ({questions})")
        details = {k: v for k, v in result.items() if k not in _QUIZ_OWN_KEYS}
        stored: dict[str, Any] = {
            **details,
            "session_id": session_id,
            "recorded_at": _timestamp(recorded_at or datetime.now(UTC)),
            "questions": questions,
            "correct": correct,
            "score": round(100 * correct / questions, 1),
            "answers": _quiz_answers(result.get("answers")),
        }
        self._require_session(session_id)
        self._db.execute(
            "INSERT INTO quiz_results (session_id, recorded_at, questions, correct, score,"
            " answers, details) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                stored["recorded_at"],
                questions,
                correct,
                stored["score"],
                json.dumps(stored["answers"], ensure_ascii=False),
                json.dumps(details, ensure_ascii=False),
            ),
        )
        return stored

    def sessions(self, scenario: str | None = None) -> list[dict[str, Any]]:
        """Past sessions, newest first, each with its `grade` (or None) and `quiz_results`.

        Times are ISO-8601 text, as stored; grades and quiz results have the shape `add_grade`
        and `add_quiz_result` returned.
        """
        where, params = ("WHERE s.scenario = ?", (scenario,)) if scenario is not None else ("", ())
        rows = self._db.execute(
            "SELECT s.*, g.graded_at, g.score, g.goals_achieved, g.errors, g.feedback,"
            " g.next_steps FROM sessions s LEFT JOIN grades g ON g.session_id = s.id"
            f" {where} ORDER BY s.started_at DESC, s.id DESC",
            params,
        ).fetchall()
        quizzes: dict[int, list[dict[str, Any]]] = {}
        for quiz in self._db.execute(
            "SELECT q.* FROM quiz_results q JOIN sessions s ON s.id = q.session_id"
            f" {where} ORDER BY q.recorded_at, q.id",
            params,
        ):
            quizzes.setdefault(quiz["session_id"], []).append(
                {
                    **json.loads(quiz["details"]),
                    "session_id": quiz["session_id"],
                    "recorded_at": quiz["recorded_at"],
                    "questions": quiz["questions"],
                    "correct": quiz["correct"],
                    "score": quiz["score"],
                    "answers": json.loads(quiz["answers"]),
                }
            )
        return [
            {
                "id": row["id"],
                "scenario": row["scenario"],
                "engine": row["engine"],
                "model": row["model"],
                "log_path": row["log_path"],
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
                "usage": None if row["usage"] is None else json.loads(row["usage"]),
                "cost_usd": row["cost_usd"],
                "grade": None
                if row["graded_at"] is None
                else {
                    "session_id": row["id"],
                    "graded_at": row["graded_at"],
                    "score": row["score"],
                    "goals_achieved": json.loads(row["goals_achieved"]),
                    "errors": json.loads(row["errors"]),
                    "feedback": row["feedback"],
                    "next_steps": json.loads(row["next_steps"]),
                },
                "quiz_results": quizzes.get(row["id"], []),
            }
            for row in rows
        ]

    def progress(self) -> list[ScenarioProgress]:
        """One row per scenario practised, the most recently practised first.

        `attempts` counts sessions started, `graded` those with a grade; `best_score` and
        `last_score` (the grade of the latest graded session) are percentages;
        `last_date` is when the latest session started.
        """
        rows = self._db.execute(
            """
            SELECT s.scenario,
                   COUNT(*) AS attempts,
                   COUNT(g.session_id) AS graded,
                   MAX(g.score) AS best_score,
                   MAX(s.started_at) AS last_date,
                   (SELECT g2.score FROM grades g2 JOIN sessions s2 ON s2.id = g2.session_id
                     WHERE s2.scenario = s.scenario
                     ORDER BY s2.started_at DESC, s2.id DESC LIMIT 1) AS last_score
              FROM sessions s LEFT JOIN grades g ON g.session_id = s.id
             GROUP BY s.scenario
             ORDER BY last_date DESC, s.scenario
            """
        ).fetchall()
        return [
            ScenarioProgress(
                scenario=row["scenario"],
                attempts=row["attempts"],
                graded=row["graded"],
                best_score=row["best_score"],
                last_score=row["last_score"],
                last_date=_moment(row["last_date"]),
            )
            for row in rows
        ]

    def close(self) -> None:
        """Close the database; closing twice is harmless."""
        self._db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
