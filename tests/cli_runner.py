"""The command line as a user runs it: `python -m tutor_cli` in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import REPO


def tutor(
    *args: str,
    stdin: str = "",
    env: Mapping[str, str | None] | None = None,
    home: Path | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run `tutor ARGS` from the repository with this process's environment (so the test's
    TUTOR_HOME), changed by `env` (None removes a variable) and `home`; wide output."""
    environment = {**os.environ, "COLUMNS": "200"}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    if home is not None:
        environment["TUTOR_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tutor_cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=environment,
        cwd=REPO,
        timeout=timeout,
    )
