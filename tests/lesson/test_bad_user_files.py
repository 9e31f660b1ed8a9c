"""A bad file in the learner's scenario folder costs only itself: it is skipped with one
warning, every other command and lesson goes on, and only asking for it is an error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tests.conftest import REPO
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import MAX_SCENARIO_BYTES, Catalogue


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # opening it to read would wait for a writer that never comes


def _endless(path: Path) -> None:
    path.symlink_to("/dev/zero")  # reading it never ends


def _deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")


def _huge(path: Path) -> None:
    path.write_text(" " * (MAX_SCENARIO_BYTES + 1) + "{}", encoding="utf-8")


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "gone.json")


BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "not a regular file"),
    "endless": (_endless, "not a regular file"),
    "deep": (_deep, "nested too deeply"),
    "huge": (_huge, "more than"),
    "folder": (_folder, "not a regular file"),
    "dangling": (_dangling, "cannot read"),
}


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tutor: warning: ")]


@pytest.fixture(params=sorted(BAD_FILES))
def bad_file(request: pytest.FixtureRequest, user_scenarios: Path) -> tuple[Path, str]:
    make, why = BAD_FILES[request.param]
    path = user_scenarios / f"bad_{request.param}.json"
    make(path)
    return path, why


def test_list_skips_a_bad_user_file_with_one_warning(bad_file: tuple[Path, str]) -> None:
    path, why = bad_file
    result = tutor("list", "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    ids = [row["id"] for row in json.loads(result.stdout)]
    assert "a1_taxi_bogota" in ids and path.stem not in ids
    assert result.stderr.strip().splitlines() == _warnings(result.stderr)
    (warning,) = _warnings(result.stderr)
    assert warning.startswith(f"tutor: warning: {path}: skipped: "), warning
    assert why in warning


def test_asking_for_the_bad_file_is_one_line_and_exit_2(bad_file: tuple[Path, str]) -> None:
    path, why = bad_file
    result = tutor("show", path.stem, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"tutor: {path}: ") and why in lines[0]
    assert "Traceback" not in result.stderr


def test_progress_and_a_builtin_call_go_on_beside_a_fifo(user_scenarios: Path) -> None:
    fifo = user_scenarios / "stuck.json"
    _fifo(fifo)
    progress = tutor("progress", timeout=30)
    assert progress.returncode == 0, progress.stderr
    assert "No progress yet" in progress.stdout
    assert len(_warnings(progress.stderr)) == 1
    call = tutor("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola", timeout=60)
    assert call.returncode == 0, call.stderr
    # The call reads the catalogue twice (the command, the offline engine): one warning.
    assert [w for w in _warnings(call.stderr) if str(fifo) in w] == [
        f"tutor: warning: {fifo}: skipped: not a regular file"
    ]
    assert "Traceback" not in call.stderr


def test_serve_starts_beside_an_endless_file(user_scenarios: Path) -> None:
    _endless(user_scenarios / "zero.json")
    server = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert first.startswith("offline engine listening on ws://127.0.0.1:"), first
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    assert "skipped: not a regular file" in err
    assert "Traceback" not in err


def test_the_catalogue_keeps_the_rest_and_names_what_it_skipped(
    user_scenarios: Path, taxi_data: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    _deep(user_scenarios / "deep.json")
    (user_scenarios / "mine.json").write_text(
        json.dumps({**taxi_data, "id": "mine"}), encoding="utf-8"
    )
    catalogue = Catalogue.load()
    assert catalogue.get("mine").builtin is False
    assert [u.path.name for u in catalogue.unreadable] == ["deep.json"]
    with pytest.raises(BadInput, match=r"deep\.json: nested too deeply"):
        catalogue.get("deep")
    assert capsys.readouterr().err.count("deep.json: skipped") == 1


def test_a_broken_replacement_of_a_shipped_lesson_is_an_error_when_asked_for(
    user_scenarios: Path,
) -> None:
    # The learner meant to replace the shipped lesson: falling back to it silently would
    # hold a lesson they did not ask for.
    (user_scenarios / "a1_taxi_bogota.json").write_text("{", encoding="utf-8")
    catalogue = Catalogue.load()
    assert "a1_taxi_bogota" not in [entry.id for entry in catalogue]
    with pytest.raises(BadInput, match=r"a1_taxi_bogota\.json: invalid JSON"):
        catalogue.get("a1_taxi_bogota")
    assert catalogue.get("a1_cafe_paris").builtin


def test_a_file_where_the_scenario_folder_should_be_is_a_warning(tutor_home: Path) -> None:
    tutor_home.mkdir()
    (tutor_home / "scenarios").write_text("not a folder", encoding="utf-8")
    result = tutor("list", timeout=30)
    assert result.returncode == 0
    assert _warnings(result.stderr) == [
        f"tutor: warning: {tutor_home / 'scenarios'}: skipped: not a folder"
    ]
