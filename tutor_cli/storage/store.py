"""The learner's progress: one SQLite file of sessions, their grades and quiz results.

Times are timezone-aware UTC datetimes, stored as fixed-width ISO-8601 text so that text order
is time order. Lists (goals met, errors, next steps, quiz answers) and token usage are JSON text.

The schema and its migrations are in `schema.py`: an older file is upgraded in place the first
time a newer tutor opens it, and a newer file is refused rather than misread.

The file is in WAL mode so `tutor progress` can read while a call is writing, and every
connection waits (`timeout`) instead of failing when another one holds the write lock. How the
file is opened (for writing, read-only, checked, a damaged one moved aside) is `database.py`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from tutor_cli.errors import BadInput, warn
from tutor_cli.storage import database, paths, schema, session_rows
from tutor_cli.storage.database import NotWritable
from tutor_cli.storage.results import (
    QUIZ_OWN_KEYS,
    grade_errors,
    normalise_score,
    quiz_answers,
    quiz_skipped,
    strings,
)
from tutor_cli.storage.scenario_progress import (
    PlayedSession,
    ScenarioProgress,
    by_recency,
    moment,
    scenario_progress,
)
from tutor_cli.storage.session_rows import Whose

SessionKind = Literal["live", "scripted"]
SESSION_KINDS: tuple[SessionKind, ...] = ("live", "scripted")


class NothingStored(Exception):
    """Opened read-only, the file turned out to have no tables yet: there is no progress in it,
    and it cannot be given its tables from here."""


class SchemaTooNew(BadInput, ValueError):
    """The file was written by a newer tutor whose schema this one does not know.

    A `ValueError` for callers of the store, and a `BadInput` so the command line prints the
    one-line message instead of a traceback.
    """


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} has no timezone; give an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class ProgressStore:
    """Sessions, grades and quiz results in one SQLite file."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open the store at `path`, creating it (owner-only) and upgrading its schema if needed;
        with `read_only`, only read it, as it is.

        A damaged file is moved aside and a new one started (see `database.py`). Raises
        NotWritable (a BadInput) naming the path that cannot be written, BadInput if the file
        is not a tutor progress database, SchemaTooNew (a ValueError) if a newer tutor wrote it,
        and, read-only, NothingStored if it has no tables yet.
        """
        self.path = path
        self._db = database.open_read_only(path) if read_only else database.open_for_writing(path)
        self._db.row_factory = sqlite3.Row
        try:
            if read_only:
                self._check_version()
            else:
                self._db.execute("PRAGMA foreign_keys = ON")
                self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
                raise BadInput(f"{path}: not a readable tutor progress database ({exc})") from exc
            if code in database.NOT_WRITABLE:
                raise NotWritable(f"{path}: not writable ({exc})") from exc
            raise
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open_default(cls) -> ProgressStore:
        """The store in the tutor's data folder, for writing."""
        return cls(paths.progress_db_path())

    @classmethod
    def for_reading(cls, path: Path | None = None) -> ProgressStore | None:
        """The store for a command that only reads it (`tutor progress`); None when there is
        none yet. Nothing is created; a home that cannot be written is read as it is."""
        path = path or paths.progress_db_path()
        try:
            if path.stat().st_size == 0:  # created, never written: nothing in it yet
                return None
        except (FileNotFoundError, NotADirectoryError):  # no file, or no folder to hold one
            return None
        except OSError:
            pass  # let opening it name the problem
        if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
            try:
                return cls(path)
            except NotWritable:
                pass  # writable by its mode, but not in fact (a full disk): read it as it is
        try:
            return cls(path, read_only=True)
        except NothingStored:
            return None

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _refuse_unknown(self, version: int) -> None:
        """Raise if a file at schema `version` is not one this tutor may read or upgrade."""
        target = len(schema.MIGRATIONS)
        if version > target:
            raise SchemaTooNew(
                f"{self.path}: schema version {version} was written by a newer tutor; "
                f"this one knows up to version {target}. Upgrade tutor to read it."
            )
        if version == 0 and self._db.execute("SELECT 1 FROM sqlite_master").fetchone():
            raise BadInput(f"{self.path}: an SQLite database, but not a tutor progress database")

    def _check_version(self) -> None:
        """Read-only, a file can be read only at this tutor's schema version."""
        version = self._version()
        self._refuse_unknown(version)
        if version == 0:
            raise NothingStored(f"{self.path}: no tables yet")
        if version < len(schema.MIGRATIONS):
            raise BadInput(
                f"{self.path}: written by an older tutor (schema version {version}); it is "
                "upgraded the next time tutor can write to its folder"
            )

    def _migrate(self) -> None:
        target = len(schema.MIGRATIONS)
        if self._version() == target:
            return
        # The version is read again under the write lock: another process may have upgraded
        # the file since, and a migration must never run twice. Every pending migration runs
        # in the one transaction: a new file is written once, and an upgrade is all or nothing.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._version()
            self._refuse_unknown(version)
            for step in range(version, target):
                for statement in schema.statements(schema.MIGRATIONS[step]):
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {target}")
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
        kind: SessionKind = "live",
        user: str | None = None,
    ) -> int:
        """Record the start of a call; returns the session id the other methods take.

        `kind` is "live" for a lesson the learner held, "scripted" for one driven by a script
        or by lines given in advance (left out of `progress` unless asked for). `user` names
        the learner a classroom relay held it for; None is the learner of this store."""
        if kind not in SESSION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SESSION_KINDS)}, got {kind!r}")
        cursor = self._db.execute(
            "INSERT INTO sessions (scenario, engine, model, log_path, started_at, kind, user)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scenario, engine, model, log_path, _timestamp(started_at), kind, user),
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
        finished: bool | None = None,
    ) -> None:
        """Record the end of a call, its token usage, (if known) what it cost, and (if known)
        whether the lesson was over or the learner ended it early."""
        if not isinstance(usage, dict):
            raise ValueError(f"usage must be a dict, got {usage!r}")
        self._require_session(session_id)
        self._db.execute(
            "UPDATE sessions SET ended_at = ?, usage = ?, cost_usd = ?, finished = ? WHERE id = ?",
            (_timestamp(ended_at), json.dumps(usage), cost_usd, finished, session_id),
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
            "goals_achieved": strings(grade["goals_achieved"], "goals_achieved"),
            "errors": grade_errors(grade["errors"]),
            "feedback": grade["feedback"],
            "next_steps": strings(grade["next_steps"], "next_steps"),
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

        `result` has `questions`, `correct` and `answers`, and `skipped` (true when the learner
        answered none; such a result has nothing correct); other keys (such as `focus`) are
        kept as they are. The stored result adds `score` (percentage correct), `recorded_at`
        and `session_id`. Raises ValueError for malformed fields or an unknown session.
        """
        questions, correct = result.get("questions"), result.get("correct")
        if isinstance(questions, bool) or not isinstance(questions, int) or questions < 1:
            raise ValueError(f"questions must be a positive integer, got {questions!r}")
        if isinstance(correct, bool) or not isinstance(correct, int) or correct < 0:
            raise ValueError(f"correct must be a non-negative integer, got {correct!r}")
        if correct > questions:
            raise ValueError(f"correct ({correct}) is more than questions ({questions})")
        skipped = quiz_skipped(result.get("skipped", False), correct)
        details = {k: v for k, v in result.items() if k not in QUIZ_OWN_KEYS}
        stored: dict[str, Any] = {
            **details,
            "session_id": session_id,
            "recorded_at": _timestamp(recorded_at or datetime.now(UTC)),
            "questions": questions,
            "correct": correct,
            "score": round(100 * correct / questions, 1),
            "answers": quiz_answers(result.get("answers")),
            "skipped": skipped,
        }
        self._require_session(session_id)
        self._db.execute(
            "INSERT INTO quiz_results (session_id, recorded_at, questions, correct, score,"
            " answers, details, skipped) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                stored["recorded_at"],
                questions,
                correct,
                stored["score"],
                json.dumps(stored["answers"], ensure_ascii=False),
                json.dumps(details, ensure_ascii=False),
                skipped,
            ),
        )
        return stored

    def sessions(
        self,
        scenario: str | None = None,
        *,
        include_scripted: bool = True,
        user: str | None = None,
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        """Past sessions, newest first, each with its `user` (None: the learner's own),
        `kind`, whether it was `finished` (None when not known), its `grade` (or None) and
        `quiz_results`. Only the learner's own unless a `user` or `all_users` is asked for.

        Times are ISO-8601 text, as stored; grades and quiz results have the shape `add_grade`
        and `add_quiz_result` returned.
        """
        where, params = session_rows.where(scenario, include_scripted, Whose(user, all_users))
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
            quizzes.setdefault(quiz["session_id"], []).append(session_rows.quiz_row(quiz))
        return [session_rows.session_row(row, quizzes.get(row["id"], [])) for row in rows]

    def count_sessions(
        self,
        kind: SessionKind,
        scenario: str | None = None,
        *,
        user: str | None = None,
        all_users: bool = False,
    ) -> int:
        """How many sessions of `kind` there are (of `scenario`, if given; whose as for
        `sessions`)."""
        where, params = session_rows.where(scenario, True, Whose(user, all_users))
        clause = f"{where} AND s.kind = ?" if where else "WHERE s.kind = ?"
        query = f"SELECT count(*) FROM sessions s {clause}"
        (number,) = self._db.execute(query, (*params, kind)).fetchone()
        return int(number)

    def progress(
        self, *, include_scripted: bool = False, user: str | None = None, all_users: bool = False
    ) -> list[ScenarioProgress]:
        """One row per scenario practised (per user and scenario, with `all_users`), the most
        recently practised first (see `scenario_progress` for what counts). Scripted sessions
        are left out unless `include_scripted`; whose, as for `sessions`."""
        # Added up in Python rather than in SQL so that a row with an unreadable time
        # (hand-edited, damaged) is left out, with a warning, instead of failing the whole table.
        where, params = session_rows.where(None, include_scripted, Whose(user, all_users))
        played: dict[tuple[str | None, str], list[PlayedSession]] = {}
        unreadable: list[int] = []
        for row in self._db.execute(
            "SELECT s.id, s.user, s.scenario, s.started_at, s.finished, s.log_path, g.score"
            f" FROM sessions s LEFT JOIN grades g ON g.session_id = s.id {where}",
            params,
        ):
            try:
                started = moment(row["started_at"])
            except ValueError:
                unreadable.append(row["id"])
                continue
            finished = None if row["finished"] is None else bool(row["finished"])
            played.setdefault((row["user"], row["scenario"]), []).append(
                PlayedSession(row["id"], started, row["score"], finished, row["log_path"])
            )
        if unreadable:
            ids = ", ".join(str(i) for i in unreadable[:5]) + (", …" if len(unreadable) > 5 else "")
            many = len(unreadable) > 1
            warn(
                f"{self.path}: {len(unreadable)} session{'s' if many else ''} with an unreadable "
                f"start time left out (id {ids})"
            )
        return by_recency(
            [scenario_progress(name, rows, user) for (user, name), rows in played.items()]
        )

    def users(self) -> list[str]:
        """The users with sessions in this store (a relay's learners), in order."""
        query = "SELECT DISTINCT user FROM sessions WHERE user IS NOT NULL ORDER BY user"
        return [row[0] for row in self._db.execute(query)]

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
