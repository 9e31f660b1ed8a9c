"""This call's row in the learner's progress store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tutor_cli.lesson.updates import CallSummary

if TYPE_CHECKING:
    from tutor_cli.storage.store import ProgressStore


class ProgressRow:
    """Opened when the call starts, given the grades and quiz results the tools produce,
    closed once with the usage and cost. Without a store nothing is kept and results pass
    through unchanged, so the tools behave the same.

    A write the store cannot make (a full disk, a broken file) does not stop the call: the
    result passes through as if there were no store, and `on_failure` hears about it once.
    """

    def __init__(
        self, store: ProgressStore | None, on_failure: Callable[[str], None] | None = None
    ) -> None:
        self.store = store
        self._session_id: int | None = None
        self._on_failure = on_failure
        self.failure: str | None = None  # why progress is not being saved, once it is not

    def _failed(self, exc: Exception) -> None:
        if self.failure is not None:
            return
        where = f" in {self.store.path}" if self.store is not None else ""
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.failure = f"cannot save your progress{where}: {why}"
        if self._on_failure is not None:
            self._on_failure(self.failure)

    def open(
        self, summary: CallSummary, *, scripted: bool = False, user: str | None = None
    ) -> None:
        """Record the start of the call: a lesson the learner holds, or a `scripted` one;
        `user` names the learner a classroom relay holds it for."""
        if self.store is None:
            return
        try:
            self._session_id = self.store.start_session(
                scenario=summary.scenario,
                engine=summary.engine,
                model=summary.model,
                log_path=str(summary.log_path) if summary.log_path else None,
                started_at=summary.started_at,
                kind="scripted" if scripted else "live",
                user=user,
            )
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)

    def record_grade(self, grade: dict[str, Any]) -> dict[str, Any]:
        """Store a grade (the store checks it); returns what was stored."""
        if self.store is None or self._session_id is None:
            return dict(grade)
        try:
            return self.store.add_grade(self._session_id, grade)
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return dict(grade)

    def record_quiz(self, result: dict[str, Any]) -> dict[str, Any]:
        """Store a quiz result; returns what was stored."""
        if self.store is None or self._session_id is None:
            return dict(result)
        try:
            return self.store.add_quiz_result(self._session_id, result)
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
            return dict(result)

    def close(self, summary: CallSummary) -> None:
        """Record the end, the usage, the cost and whether the lesson was finished; a second
        close does nothing."""
        if self.store is None or self._session_id is None:
            return
        session_id, self._session_id = self._session_id, None
        try:
            self.store.end_session(
                session_id,
                ended_at=datetime.now(UTC),
                usage=summary.usage.as_dict(),
                cost_usd=summary.cost_usd,
                finished=summary.finished,
            )
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)
