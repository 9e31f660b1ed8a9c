"""A damaged progress database: a bad page is found when the file is opened, the file is moved
aside with one line and a new one started; a row with an unreadable date is left out with a
warning instead of failing the whole table."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tutor_cli.errors import BadInput
from tutor_cli.storage.store import ProgressStore

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
GRADE = {"score": 70, "goals_achieved": [], "errors": [], "feedback": "ok", "next_steps": []}


def _practise(path: Path, scenarios: list[str]) -> None:
    with ProgressStore(path) as store:
        for n, scenario in enumerate(scenarios):
            session = store.start_session(
                scenario=scenario, engine="offline", model="m", log_path=None,
                started_at=T0.replace(minute=n % 60),
            )  # fmt: skip
            store.add_grade(session, GRADE)


def _damage_index_page(path: Path) -> None:
    """Overwrite the first page of the sessions' scenario index with junk, as a bad sector or
    a torn write would: the tables' own pages, and so the schema, still read."""
    raw = sqlite3.connect(path)
    try:
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
        (root,) = raw.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sessions_by_scenario'"
        ).fetchone()
    finally:
        raw.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


@pytest.fixture
def damaged(tutor_home: Path) -> Path:
    path = tutor_home / "progress.db"
    _practise(path, [f"lesson_{n % 40}" for n in range(400)])  # the index spans pages
    _damage_index_page(path)
    return path


def test_progress_moves_a_damaged_file_aside_and_says_so(damaged: Path) -> None:
    result = tutor("progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No progress yet")
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"tutor: warning: {damaged}: damaged (")
    (aside,) = damaged.parent.glob("progress.db.corrupt-*")
    assert f"moved to {aside.name}" in line
    assert aside.stat().st_size > 0 and damaged.exists()
    again = tutor("progress")
    assert again.returncode == 0 and again.stderr == ""


def test_a_call_goes_on_with_a_new_database(damaged: Path) -> None:
    result = tutor("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("damaged (") == 1
    assert "Traceback" not in result.stderr
    with ProgressStore(damaged) as store:
        (session,) = store.sessions()
    assert session["ended_at"] is not None and session["grade"] is not None


def test_a_damaged_file_on_a_read_only_open_is_one_line(damaged: Path) -> None:
    with pytest.raises(BadInput, match=r"progress\.db: damaged \(") as caught:
        ProgressStore(damaged, read_only=True)
    assert "\n" not in str(caught.value)
    assert list(damaged.parent.glob("progress.db.corrupt-*")) == []


def test_a_row_with_an_unreadable_date_is_left_out_with_a_warning(tutor_home: Path) -> None:
    path = tutor_home / "progress.db"
    _practise(path, ["a1_taxi_bogota", "a1_cafe_paris"])
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(
            "INSERT INTO sessions (scenario, engine, model, started_at) VALUES"
            " ('a1_taxi_bogota', 'offline', 'm', 'the day before yesterday'),"
            " ('a2_hotel_london', 'offline', 'm', '2025-03-01T10:00:00')"  # no timezone
        )
    raw.close()
    result = tutor("progress", "--json")
    assert result.returncode == 0, result.stderr
    assert '"scenario": "a1_taxi_bogota"' in result.stdout
    assert '"attempts": 1' in result.stdout and "a2_hotel_london" not in result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"tutor: warning: {path}: 2 sessions with an unreadable start time left out (id 3, 4)"
    )
