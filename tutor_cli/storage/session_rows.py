"""Reading sessions back from the store: whose sessions a query is about, and the rows it gives,
as plain JSON-ready dicts.

A learner's own store keeps sessions with no user; a classroom relay keeps each learner's under
the name the teacher gave them, so a query says whose it wants.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from tutor_cli.datatypes import datatype


@datatype
class Whose:
    """Whose sessions: the learner's own (no user, the default), one `user`'s, or, with
    `everyone`, all of them."""

    user: str | None = None
    everyone: bool = False

    def clause(self) -> tuple[str | None, tuple[str, ...]]:
        """The condition on sessions `s` (None: no condition) and its parameters."""
        if self.everyone:
            return None, ()
        if self.user is None:
            return "s.user IS NULL", ()
        return "s.user = ?", (self.user,)


def where(
    scenario: str | None, include_scripted: bool, whose: Whose
) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (over sessions `s`) and its parameters for a scenario, kinds and
    users."""
    clauses: list[str] = []
    params: list[str] = []
    if scenario is not None:
        clauses.append("s.scenario = ?")
        params.append(scenario)
    if not include_scripted:
        clauses.append("s.kind = 'live'")
    condition, values = whose.clause()
    if condition is not None:
        clauses.append(condition)
        params.extend(values)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def quiz_row(quiz: sqlite3.Row) -> dict[str, Any]:
    """A stored quiz result, as `add_quiz_result` returned it."""
    return {
        **json.loads(quiz["details"]),
        "session_id": quiz["session_id"],
        "recorded_at": quiz["recorded_at"],
        "questions": quiz["questions"],
        "correct": quiz["correct"],
        "score": quiz["score"],
        "answers": json.loads(quiz["answers"]),
        "skipped": bool(quiz["skipped"]),
    }


def session_row(row: sqlite3.Row, quizzes: list[dict[str, Any]]) -> dict[str, Any]:
    """A session joined with its grade (columns of `grades` beside those of `sessions`)."""
    return {
        "id": row["id"],
        "user": row["user"],
        "scenario": row["scenario"],
        "engine": row["engine"],
        "model": row["model"],
        "log_path": row["log_path"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "usage": None if row["usage"] is None else json.loads(row["usage"]),
        "cost_usd": row["cost_usd"],
        "kind": row["kind"],
        "finished": None if row["finished"] is None else bool(row["finished"]),
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
        "quiz_results": quizzes,
    }
