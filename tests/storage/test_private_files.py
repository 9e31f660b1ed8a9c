"""Everything holding the conversation is the owner's alone, even where a file or folder was
already there with looser permissions; a folder made private is said so once."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.speaker import WavSpeaker
from tutor_cli.replay.wav import SessionWav
from tutor_cli.storage.paths import ensure_private_dir


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose_file(path: Path) -> Path:
    path.write_bytes(b"an older recording")
    path.chmod(0o644)
    return path


def test_a_loose_folder_is_made_private_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    folder.chmod(0o755)
    ensure_private_dir(folder)
    assert _mode(folder) == 0o700
    assert capsys.readouterr().err == (
        f"tutor: warning: {folder}: others could read it (mode 755); made it owner-only (700)\n"
    )
    ensure_private_dir(folder)
    assert capsys.readouterr().err == ""


def test_missing_parents_are_made_private_too(tmp_path: Path) -> None:
    ensure_private_dir(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700


def test_a_call_tightens_an_existing_home_and_sessions_folder(tutor_home: Path) -> None:
    (tutor_home / "sessions").mkdir(parents=True)
    tutor_home.chmod(0o755)
    (tutor_home / "sessions").chmod(0o777)
    result = tutor("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola")
    assert result.returncode == 0, result.stderr
    assert _mode(tutor_home) == 0o700 and _mode(tutor_home / "sessions") == 0o700
    assert result.stderr.splitlines() == [
        f"tutor: warning: {tutor_home}: others could read it (mode 755); made it owner-only (700)",
        f"tutor: warning: {tutor_home / 'sessions'}: others could read it (mode 777); "
        "made it owner-only (700)",
    ]
    again = tutor("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola")
    assert again.returncode == 0 and again.stderr == ""


def test_the_speaker_file_over_an_existing_file_is_owner_only(tmp_path: Path) -> None:
    path = _loose_file(tmp_path / "out.wav")

    async def play_nothing() -> None:
        speaker = WavSpeaker(JitterBuffer(), path)
        await speaker.start()
        await speaker.stop()

    asyncio.run(play_nothing())
    assert _mode(path) == 0o600


def test_an_exported_wav_over_an_existing_file_is_owner_only(tmp_path: Path) -> None:
    path = _loose_file(tmp_path / "lesson.wav")
    SessionWav(path).close()
    assert _mode(path) == 0o600
