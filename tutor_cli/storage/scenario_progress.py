"""How a learner has done on each scenario, added up from its sessions.

Only lessons that count are in the scores: an attempt the learner ended early is an attempt, but
the grade it had (often 0) is no measure of the learner; sessions from before tutor kept whether
a lesson was finished count as they always did.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tutor_cli.datatypes import datatype


@datatype
class PlayedSession:
    """One session, as the sums need it."""

    id: int
    started_at: datetime
    score: float | None  # its grade, if it has one
    finished: bool | None  # None: not known (an older session)
    log_path: str | None


@datatype
class ScenarioProgress:
    """How a learner has done on one scenario, over all its sessions."""

    scenario: str
    attempts: int
    graded: int  # attempts with a grade that counts (not ended early)
    unfinished: int  # attempts ended before the lesson was over
    best_score: float | None
    average_score: float | None
    last_score: float | None  # the latest score that counts
    last_date: datetime | None
    last_log_path: str | None = None
    user: str | None = None  # whose sessions (a relay's learner); None: the learner's own


def moment(text: Any) -> datetime:
    """A stored time; ValueError for one that is not an aware ISO-8601 time (a hand-edited or
    damaged row)."""
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a timezone: {text!r}")
    return parsed


def scenario_progress(
    scenario: str, sessions: list[PlayedSession], user: str | None = None
) -> ScenarioProgress:
    """The sums for one scenario's sessions (at least one), of `user` if given."""
    ordered = sorted(sessions, key=lambda s: (s.started_at, s.id))
    scores = [s.score for s in ordered if s.score is not None and s.finished is not False]
    return ScenarioProgress(
        scenario=scenario,
        attempts=len(ordered),
        graded=len(scores),
        unfinished=sum(s.finished is False for s in ordered),
        best_score=max(scores, default=None),
        average_score=round(sum(scores) / len(scores), 1) if scores else None,
        last_score=scores[-1] if scores else None,
        last_date=ordered[-1].started_at,
        last_log_path=ordered[-1].log_path,
        user=user,
    )


def by_recency(summaries: list[ScenarioProgress]) -> list[ScenarioProgress]:
    """The most recently practised first; ties by scenario id, then user."""
    ordered = sorted(summaries, key=lambda summary: (summary.scenario, summary.user or ""))
    never = datetime.min.replace(tzinfo=UTC)
    return sorted(ordered, key=lambda summary: summary.last_date or never, reverse=True)
