"""A headless lesson as a learner at a terminal sees it: quiz answers marked as the call screen
marks them, and each line typed at the `you>` prompt shown once."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.cli_runner import tutor
from tests.conftest import REPO

QUIZ = ("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "quiz")


def test_headless_quiz_answers_are_marked_with_the_right_spelling() -> None:
    # The taxi quiz: 1. «mil» (a: thousand), 2. where you are from (d), 3. «sumercé», 4. skipped
    result = tutor(*QUIZ, "--say", "a", "--say", "b", "--say", "sumerce")
    assert result.returncode == 0, result.stderr
    quiz = result.stdout.split("Quiz: ")[1].split("⚙ trigger_quiz")[0]
    marks = [line.strip() for line in quiz.splitlines() if line.strip()[:1] in "✓✗"]
    assert marks == [
        "✓ a) thousand",
        "✗ b) Sí, está bien. Gracias.  expected: d) Soy de Canadá.",
        "✓ sumercé",  # accepted without the accent, shown as it is spelt
        "✗ (skipped)  expected: c) Aquí tiene. ¡Muchas gracias! Chao.",
    ]
    assert "quiz  2/4" in result.stdout


def test_a_line_typed_at_the_prompt_is_shown_once(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TUTOR_HOME": str(tmp_path / "home"), "COLUMNS": "100"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", "call", "a1_taxi_bogota", "--headless", "--text-only"],
        stdin=slave, stdout=slave, stderr=slave, cwd=REPO, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    out = b""

    def read_until(marker: bytes, timeout: float = 60) -> None:
        nonlocal out
        deadline = time.monotonic() + timeout
        while marker not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    return

    try:
        read_until(b"you> ")
        os.write(master, b"Buenas tardes, muy bien\n")
        read_until("¿Para dónde lo llevo?".encode())
        os.write(master, b"/end\n")
        read_until(b"replay  tutor replay")
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    text = out.decode(errors="replace")
    assert text.count("Buenas tardes, muy bien") == 1, text
    assert "you> Buenas tardes, muy bien" in text
