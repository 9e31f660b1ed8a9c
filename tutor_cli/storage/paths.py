"""Where the program keeps its data, and settings read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "tutor"


def tutor_home() -> Path:
    """The one folder everything the program writes lives under.

    `TUTOR_HOME` wins; otherwise the platform's user data folder (on Linux
    `~/.local/share/tutor`).
    """
    override = os.environ.get("TUTOR_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def sessions_dir() -> Path:
    """Event logs of past calls."""
    return tutor_home() / "sessions"


def user_scenarios_dir() -> Path:
    """Scenario files the user added; they join the built-in catalogue."""
    return tutor_home() / "scenarios"


def progress_db_path() -> Path:
    """The SQLite progress store."""
    return tutor_home() / "progress.db"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only, since it holds conversations."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
