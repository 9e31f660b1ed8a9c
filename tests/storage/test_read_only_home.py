"""A home folder tutor cannot write: commands that only read work from it, without creating
anything; a lesson, which must write, says in one line which path is not writable (exit 2).

Tests run as root here, and root ignores file modes, so a read-only home is made for real: a
read-only bind mount in a private mount namespace (`tests/mounts.py`), or a file standing
where a folder should be."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tests.mounts import read_only, tutor_mounted
from tutor_cli.storage.store import ProgressStore

CALL = ("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola")


def _contents(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def practised_home(tutor_home: Path) -> Path:
    """A home with one graded lesson in it, as a learner's would be."""
    with ProgressStore.open_default() as store:
        session = store.start_session(
            scenario="a1_taxi_bogota",
            engine="offline",
            model="offline",
            log_path=None,
            started_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        )
        store.add_grade(
            session,
            {"score": 80, "goals_achieved": [], "errors": [], "feedback": "ok", "next_steps": []},
        )
    return tutor_home


def test_progress_reads_a_read_only_home(practised_home: Path) -> None:
    before = _contents(practised_home)
    result = tutor_mounted(read_only(practised_home), "progress", "--json")
    assert result.returncode == 0, result.stderr
    assert '"best_score": 80.0' in result.stdout
    assert result.stderr == ""
    assert _contents(practised_home) == before


def test_progress_on_an_empty_read_only_home_says_there_is_none(tutor_home: Path) -> None:
    tutor_home.mkdir()
    result = tutor_mounted(read_only(tutor_home), "progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No progress yet")
    assert result.stderr == ""
    assert _contents(tutor_home) == []


def test_progress_creates_nothing(tutor_home: Path) -> None:
    result = tutor("progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No progress yet")
    assert not tutor_home.exists()


def test_list_show_and_replay_read_a_read_only_home(tutor_home: Path) -> None:
    assert tutor(*CALL).returncode == 0
    before = _contents(tutor_home)
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    for args in (
        ("list",),
        ("show", "a1_taxi_bogota"),
        ("replay", str(log), "--headless", "--instant"),
    ):
        result = tutor_mounted(read_only(tutor_home), *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert _contents(tutor_home) == before


@pytest.mark.parametrize("with_progress", [False, True])
def test_a_lesson_on_a_read_only_home_names_the_path(
    tutor_home: Path, practised_home: Path, with_progress: bool
) -> None:
    if not with_progress:
        (tutor_home / "progress.db").unlink()
    result = tutor_mounted(read_only(tutor_home), *CALL)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tutor: {tutor_home}"), lines[0]
    assert "not writable" in lines[0] and "Read-only file system" in lines[0]


def test_a_file_where_the_home_should_be(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    home = blocker / "home"
    progress = tutor("progress", home=home)
    assert progress.returncode == 0, progress.stderr
    assert progress.stdout.startswith("No progress yet")
    call = tutor(*CALL, home=home)
    assert call.returncode == 2
    lines = call.stderr.strip().splitlines()
    assert lines == [f"tutor: {blocker}: not writable (a file, not a folder)"]


def test_a_file_where_the_sessions_folder_should_be(practised_home: Path) -> None:
    (practised_home / "sessions").write_text("a file, not a folder", encoding="utf-8")
    result = tutor(*CALL)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tutor: {practised_home / 'sessions'}: ")
    assert "Traceback" not in result.stdout
