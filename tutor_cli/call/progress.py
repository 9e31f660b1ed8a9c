"""This call's row in the learner's progress store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tutor_cli.lesson.updates import CallSummary

if TYPE_CHECKING:
    from tutor_cli.storage.store import ProgressStore


class ProgressRow:
    """Opened when the call starts, given the grades and quiz results the tools produce,
    closed once with the usage and cost. Without a store nothing is kept and results pass
    through unchanged, so the tools behave the same."""

    def __init__(self, store: ProgressStore | None) -> None:
        self.store = store
        self._session_id: int | None = None

    def open(self, summary: CallSummary) -> None:
        if self.store is not None:
            self._session_id = self.store.start_session(
                scenario=summary.scenario,
                engine=summary.engine,
                model=summary.model,
                log_path=str(summary.log_path) if summary.log_path else None,
                started_at=summary.started_at,
            )

    def record_grade(self, grade: dict[str, Any]) -> dict[str, Any]:
        """Store a grade (the store checks it); returns what was stored."""
        if self.store is None or self._session_id is None:
            return dict(grade)
        return self.store.add_grade(self._session_id, grade)

    def record_quiz(self, result: dict[str, Any]) -> dict[str, Any]:
        """Store a quiz result; returns what was stored."""
        if self.store is None or self._session_id is None:
            return dict(result)
        return self.store.add_quiz_result(self._session_id, result)

    def close(self, summary: CallSummary) -> None:
        """Record the end, the usage and the cost; a second close does nothing."""
        if self.store is not None and self._session_id is not None:
            self.store.end_session(
                self._session_id,
                ended_at=datetime.now(UTC),
                usage=summary.usage.as_dict(),
                cost_usd=summary.cost_usd,
            )
            self._session_id = None
