"""`tutor replay` with nobody watching: printed to a pipe or a file with no pace asked for, a
lesson is printed at once, not at the pace it was held."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cli_runner import tutor
from tests.replay.test_replay import text_reply, typed, write_log


def long_lesson(path: Path) -> Path:
    return write_log(
        path,
        [*text_reply(1.0, "i1", "Hola."), typed(40.0, "Buenas."), *text_reply(90.0, "i2", "Chao.")],
    )


def test_a_replay_into_a_pipe_is_instant_unless_a_speed_is_given(tmp_path: Path) -> None:
    log = long_lesson(tmp_path / "log.jsonl")
    started = time.monotonic()
    result = tutor("replay", str(log), timeout=30)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20  # the lesson lasted 90 s
    assert "You: Buenas." in result.stdout and "Chao." in result.stdout
    paced = tutor("replay", str(log), "--speed", "30", "--no-audio", timeout=30)
    assert paced.returncode == 0, paced.stderr
    assert time.monotonic() - started >= 3  # 90 s at 30 times: the pace asked for is kept


def test_the_help_says_so() -> None:
    help_text = " ".join(tutor("replay", "-h").stdout.split())
    assert "when the output is not a terminal and no --speed is given" in help_text
