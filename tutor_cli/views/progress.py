"""`tutor progress`: the learner's record per scenario, as a table or as JSON."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from tutor_cli.storage.store import ProgressStore
from tutor_cli.views.table import format_table

# json.dumps escapes C0 controls but passes DEL and C1 controls (0x9b is a one-byte CSI) through
# when ensure_ascii is off; escaping them too keeps the JSON exact and the terminal unmoved.
_RAW_CONTROL = re.compile(r"[\x7f-\x9f]")

NO_PROGRESS = "No progress yet: start a lesson with `tutor call ID` (`tutor list` shows the IDs)."


def progress_rows(store: ProgressStore, titles: dict[str, str]) -> list[dict[str, Any]]:
    """One JSON-ready row per scenario practised; `titles` maps scenario ids to titles.

    A scenario no longer in the catalogue is shown under its id.
    """
    return [
        {
            "scenario": entry.scenario,
            "title": titles.get(entry.scenario, entry.scenario),
            "attempts": entry.attempts,
            "graded": entry.graded,
            "best_score": entry.best_score,
            "last_score": entry.last_score,
            "last_date": entry.last_date.isoformat() if entry.last_date else None,
        }
        for entry in store.progress()
    ]


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _local_minute(iso: str | None) -> str:
    if iso is None:
        return "-"
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def print_progress(rows: list[dict[str, Any]], as_json: bool) -> None:
    """Print `progress_rows` output: JSON, a table, or one line saying how to begin."""
    if as_json:
        text = json.dumps(rows, ensure_ascii=False, indent=2)
        print(_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
        return
    if not rows:
        print(NO_PROGRESS)
        return
    headers = ("scenario", "title", "attempts", "best", "last", "last date")
    cells = [
        (
            row["scenario"],
            row["title"],
            str(row["attempts"]),
            _score(row["best_score"]),
            _score(row["last_score"]),
            _local_minute(row["last_date"]),
        )
        for row in rows
    ]
    print(format_table(headers, cells, right_aligned=(2, 3, 4), shrink=1))
