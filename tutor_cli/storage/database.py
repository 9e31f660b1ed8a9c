"""Opening the progress database: for writing, or read-only from a home that cannot be
written; checked when opened, and a damaged file moved aside instead of failing every command.

SQLite opens a file it cannot write read-only without a word, and reports a damaged page only
when a query reaches it; both are made plain here, when the file is opened.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from tutor_cli.errors import BadInput, warn
from tutor_cli.storage import paths

# Seconds a connection waits for another one's write lock before giving up.
LOCK_TIMEOUT = 10.0


# SQLite's primary result codes for a file that cannot be written (as against a damaged one).
NOT_WRITABLE = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR}
)


class NotWritable(BadInput):
    """The store must be written (a lesson is starting) but its file or folder cannot be."""


def _why(exc: OSError | sqlite3.Error) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF


def _damage(db: sqlite3.Connection, path: Path, *, read_only: bool = False) -> str | None:
    """What `PRAGMA quick_check` finds wrong, in one line; None for a sound file.

    A file that is not SQLite at all is not "damaged": it may be someone else's, so it is
    refused (BadInput) rather than moved.
    """
    try:
        if not read_only:
            db.execute("PRAGMA journal_mode = WAL")
        found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        if _code(exc) == sqlite3.SQLITE_NOTADB:
            raise BadInput(f"{path}: not a readable tutor progress database ({exc})") from exc
        if _code(exc) == sqlite3.SQLITE_CORRUPT:
            return str(exc)
        raise
    if found == ["ok"]:
        return None
    first = " ".join(found[0].split())
    return first if len(first) <= 120 else first[:119] + "…"


def _move_aside(path: Path, problem: str) -> None:
    """Rename the damaged file (and its WAL companions, which belong to it) out of the way."""
    stem = f"{path.name}.corrupt-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    aside, number = path.with_name(stem), 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{stem}-{number}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(aside.with_name(aside.name + suffix))
    path.replace(aside)
    warn(f"{path}: damaged ({problem}); moved to {aside.name}, starting a new progress database")


def _create_private_file(path: Path) -> None:
    # sqlite3 would create the file with the umask's mode (often world-readable); creating it
    # first, empty, makes it owner-only. SQLite gives its -wal and -shm files the same mode.
    # Opening it for writing also finds out, with the system's reason, if it cannot be written.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def _claim(path: Path) -> None:
    """Make sure the folder and the file exist and can be written; NotWritable names the one
    that cannot."""
    try:
        paths.ensure_private_dir(path.parent)
        _create_private_file(path)
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else path
        raise NotWritable(f"{where}: not writable ({_why(exc)})") from None
    if not os.access(path.parent, os.W_OK):  # SQLite keeps its -wal and -shm files beside it
        raise NotWritable(f"{path.parent}: not writable (permission denied)")


def _connect(path: Path) -> sqlite3.Connection:
    try:
        # Autocommit: each write is its own transaction, migrations open theirs explicitly.
        return sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise BadInput(f"{path}: cannot open the progress database ({exc})") from exc


def open_for_writing(path: Path) -> sqlite3.Connection:
    """A checked connection to `path`, created owner-only if missing.

    A damaged file is moved aside (`progress.db.corrupt-<time>`) with a one-line warning and a
    new one started, so one bad page does not end every lesson. Raises NotWritable, naming the
    path, when the folder or the file cannot be written; BadInput when the file is not SQLite.
    """
    _claim(path)
    db = _connect(path)
    try:
        problem = _damage(db, path)
    except sqlite3.OperationalError as exc:
        db.close()
        if _code(exc) in NOT_WRITABLE:
            raise NotWritable(f"{path}: not writable ({exc})") from exc
        raise BadInput(f"{path}: cannot open the progress database ({exc})") from exc
    except BaseException:
        db.close()
        raise
    if problem is None:
        return db
    db.close()
    _move_aside(path, problem)
    _claim(path)
    return _connect(path)


def _read(path: Path, options: str) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.absolute().as_uri()}?{options}", uri=True, timeout=LOCK_TIMEOUT)
    try:
        db.execute("PRAGMA user_version")  # SQLite opens lazily: this is when it fails
    except BaseException:
        db.close()
        raise
    return db


def _connect_read_only(path: Path) -> sqlite3.Connection:
    try:
        return _read(path, "mode=ro")
    except sqlite3.OperationalError as exc:
        if _code(exc) != sqlite3.SQLITE_CANTOPEN:
            raise BadInput(f"{path}: cannot read the progress database ({exc})") from exc
    # A WAL database needs its shared-memory file even to be read; where that cannot be made
    # (a read-only disk), the file is read as immutable: nothing can be writing it there. (What
    # a call that crashed left in the -wal file is then not seen.)
    try:
        return _read(path, "mode=ro&immutable=1")
    except sqlite3.Error as exc:
        raise BadInput(f"{path}: cannot read the progress database ({exc})") from exc


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes, for reading progress from a home that cannot be written.

    A damaged file is BadInput here, since it cannot be moved aside.
    """
    db = _connect_read_only(path)
    try:
        problem = _damage(db, path, read_only=True)
    except BaseException:
        db.close()
        raise
    if problem is not None:
        db.close()
        raise BadInput(f"{path}: damaged ({problem}); a lesson on a writable home sets it aside")
    return db
