"""`tutor progress`: the learner's record per scenario, or one scenario's sessions with their
logs, as a table or as JSON."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from tutor_cli.storage.session_rows import Whose
from tutor_cli.storage.store import ProgressStore
from tutor_cli.views.numbers import count, count_of
from tutor_cli.views.results import quiz_text
from tutor_cli.views.table import format_table

# json.dumps escapes C0 controls but passes DEL and C1 controls (0x9b is a one-byte CSI) through
# when ensure_ascii is off; escaping them too keeps the JSON exact and the terminal unmoved.
_RAW_CONTROL = re.compile(r"[\x7f-\x9f]")

NO_PROGRESS = (
    "No progress yet: start a lesson with `tutor call SCENARIO` (`tutor list` shows them)."
)
OWN = Whose()  # the learner's own sessions
SESSIONS_HINT = "One scenario's sessions and their logs: tutor progress SCENARIO"


def progress_rows(
    store: ProgressStore,
    titles: dict[str, str],
    *,
    include_scripted: bool = False,
    whose: Whose = OWN,
) -> list[dict[str, Any]]:
    """One JSON-ready row per scenario practised (per learner and scenario, with a `user`
    field, for everyone's); `titles` maps scenario ids to titles.

    A scenario no longer in the catalogue is shown under its id. Scripted sessions are left
    out unless `include_scripted`.
    """
    return [
        {
            **({"user": entry.user} if whose.everyone else {}),
            "scenario": entry.scenario,
            "title": titles.get(entry.scenario, entry.scenario),
            "attempts": entry.attempts,
            "graded": entry.graded,
            "unfinished": entry.unfinished,
            "best_score": entry.best_score,
            "average_score": entry.average_score,
            "last_score": entry.last_score,
            "last_date": entry.last_date.isoformat() if entry.last_date else None,
            "last_log_path": entry.last_log_path,
        }
        for entry in store.progress(
            include_scripted=include_scripted, user=whose.user, all_users=whose.everyone
        )
    ]


def _quiz_brief(quiz: dict[str, Any] | None) -> dict[str, Any] | None:
    if quiz is None:
        return None
    return {k: quiz[k] for k in ("questions", "correct", "skipped")}


def session_rows(
    store: ProgressStore, scenario: str, *, include_scripted: bool = False, whose: Whose = OWN
) -> list[dict[str, Any]]:
    """One JSON-ready row per session of `scenario`, newest first, with its log's path (and,
    for everyone's, its `user`)."""
    return [
        {
            **({"user": session["user"]} if whose.everyone else {}),
            "id": session["id"],
            "started_at": session["started_at"],
            "ended_at": session["ended_at"],
            "kind": session["kind"],
            "engine": session["engine"],
            "model": session["model"],
            "finished": session["finished"],
            "score": session["grade"]["score"] if session["grade"] else None,
            "quiz": _quiz_brief(session["quiz_results"][-1] if session["quiz_results"] else None),
            "log_path": session["log_path"],
        }
        for session in store.sessions(
            scenario,
            include_scripted=include_scripted,
            user=whose.user,
            all_users=whose.everyone,
        )
    ]


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _local_minute(iso: str | None) -> str:
    if iso is None:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:  # a hand-edited or damaged row: shown as it is
        return iso


def _print_json(rows: list[dict[str, Any]]) -> None:
    text = json.dumps(rows, ensure_ascii=False, indent=2)
    print(_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def print_progress(
    rows: list[dict[str, Any]], as_json: bool, hidden: int = 0, *, others: int = 0
) -> None:
    """Print `progress_rows` output: JSON, a table, or one line saying how to begin; `hidden`
    scripted sessions left out are said to be, so they are not thought lost, and so are the
    sessions of `others` learners a classroom relay kept here."""
    if as_json:
        _print_json(rows)
        return
    if not rows:
        print(NO_PROGRESS)
    else:
        _print_table(rows)
    _say_hidden(hidden, others)


def _say_hidden(hidden: int, others: int = 0) -> None:
    if hidden:
        verb = "is" if hidden == 1 else "are"
        print(f"{count_of(hidden, 'scripted session')} {verb} left out: --all shows them.")
    if others:
        verb = "has" if others == 1 else "have"
        print(
            f"{count_of(others, 'learner')} {verb} sessions here: "
            "--user NAME or --all-users shows them."
        )


def _print_table(rows: list[dict[str, Any]]) -> None:
    users = "user" in rows[0]
    headers = (
        *(("user",) if users else ()),
        *("scenario", "title", "attempts", "unfinished", "best", "avg", "last", "last date"),
    )
    cells = [
        (
            *((row["user"] or "-",) if users else ()),
            row["scenario"],
            row["title"],
            count(row["attempts"]),
            count(row["unfinished"]),
            _score(row["best_score"]),
            _score(row["average_score"]),
            _score(row["last_score"]),
            _local_minute(row["last_date"]),
        )
        for row in rows
    ]
    shift = 1 if users else 0
    numbers = tuple(column + shift for column in (2, 3, 4, 5, 6))
    print(format_table(headers, cells, right_aligned=numbers, shrink=1 + shift))
    print(f"\n{SESSIONS_HINT}")


def result_text(finished: bool | None, score: float | None) -> str:
    """A session's result in a word: its score, "unfinished" or "not graded"."""
    if finished is False:
        return "unfinished"
    return "not graded" if score is None else f"{score:g}"


def print_sessions(
    scenario: str, rows: list[dict[str, Any]], as_json: bool, hidden: int = 0, *, others: int = 0
) -> None:
    """Print `session_rows` output: JSON, or a table whose log paths are whole (a long one
    wraps rather than being cut, so it can be copied into `tutor replay`); `hidden` scripted
    sessions left out are said to be."""
    if as_json:
        _print_json(rows)
        return
    if not rows:
        print(f"No sessions of {scenario} yet: start one with `tutor call {scenario}`.")
        _say_hidden(hidden, others)
        return
    kinds = any(row["kind"] != "live" for row in rows)
    users = "user" in rows[0]
    headers = (
        "started",
        *(("user",) if users else ()),
        *(("kind",) if kinds else ()),
        *("engine", "result", "quiz", "log"),
    )
    cells = [
        (
            _local_minute(row["started_at"]),
            *((row["user"] or "-",) if users else ()),
            *((row["kind"],) if kinds else ()),
            row["engine"],
            result_text(row["finished"], row["score"]),
            quiz_text(row["quiz"]) if row["quiz"] else "-",
            row["log_path"] or "-",
        )
        for row in rows
    ]
    print(format_table(headers, cells))
    print("\nPlay one back with: tutor replay LOG")
    _say_hidden(hidden, others)
