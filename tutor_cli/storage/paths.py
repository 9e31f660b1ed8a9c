"""Where the program keeps its data, and settings read from the environment."""

from __future__ import annotations

import errno
import os
import stat
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
    """Create `path` (and missing parents) readable by the owner only, since it holds
    conversations. A folder that already exists but that others can read or enter is made
    owner-only, and the learner is told once (the next time it is already private).

    Raises OSError when the folder cannot be created (a file in the way, a read-only disk).
    """
    # Path.mkdir(parents=True) would give the parents the umask's mode, often world-readable.
    for folder in reversed([path, *path.parents]):
        if folder.is_dir():
            continue
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except FileExistsError:  # "File exists" would hide what is wrong
            raise NotADirectoryError(errno.ENOTDIR, "a file, not a folder", str(folder)) from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError:
            # Another owner's folder, or a read-only disk: left as it is; writing into it
            # will say what is wrong, if anything is.
            return path
        from tutor_cli.errors import warn

        warn(f"{path}: others could read it (mode {mode:o}); made it owner-only (700)")
    return path
