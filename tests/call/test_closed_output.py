"""A reader that goes away (`tutor call --headless | head`) ends the lesson cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_a_closed_pipe_ends_the_call_without_a_traceback(tutor_home: Path) -> None:
    command = [sys.executable, "-m", "tutor_cli", "call", "a1_taxi_bogota", "--headless"]
    command += ["--text-only", "--say", "Buenas tardes, bien", "--say", "Al aeropuerto"]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TUTOR_HOME": str(tutor_home)},
        cwd=REPO,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()  # as `head -1` reads, then goes away
    child.stdout.close()
    errors = child.stderr.read().decode()
    assert child.wait(timeout=120) in (0, 1)
    assert "Traceback" not in errors and "Exception" not in errors, errors
    (log,) = (tutor_home / "sessions").glob("*.jsonl")
    last = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert last["event"]["type"] == "tutor.call_ended"  # the log was closed
