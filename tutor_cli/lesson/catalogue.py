"""The scenario catalogue: which scenarios exist, where their files are, and a summary of each.

This module is on the start-up path of `tutor list`, so it reads JSON with the standard
library only; the full validation (pydantic) lives in `scenario_schema.py` and runs when a
scenario is used (`tutor show`, `tutor call`), once per file content (see `scenario.py`).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput, warn

if TYPE_CHECKING:
    from tutor_cli.lesson.scenario import Scenario

SCENARIO_ID = re.compile(r"[a-z0-9_]+")
T = TypeVar("T")
# The longest shipped scenario is a few kilobytes; a megabyte is room for any real lesson and
# keeps a stray file (a disk image, a log) from being read into memory.
MAX_SCENARIO_BYTES = 1_000_000
# Paths already warned about in this process: a call reads the catalogue twice (the command,
# then the offline engine), and the learner should hear about a bad file once.
_warned: set[Path] = set()


class Level(StrEnum):
    """A CEFR level."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


LEVELS = tuple(level.value for level in Level)


def builtin_scenarios_dir() -> Path:
    """The shipped scenarios: inside the installed package, or `scenarios/` in a checkout."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "_scenarios"
    return packaged if packaged.is_dir() else package.parent / "scenarios"


def check_scenario_id(scenario_id: str) -> str:
    """Refuse anything that is not a simple name, before any file is touched."""
    if not SCENARIO_ID.fullmatch(scenario_id):
        raise BadInput(
            f"invalid scenario id {scenario_id!r}: use lowercase letters, digits and '_' only"
        )
    return scenario_id


@datatype
class Entry:
    """One scenario in the catalogue, as `tutor list` shows it."""

    id: str
    title: str
    level: str
    language: str
    estimated_minutes: int
    path: Path
    builtin: bool


@datatype
class Unreadable:
    """A user's scenario file left out of the catalogue: `problem` is the one line that names
    the file and says why. Asking for its id gives that line as the error."""

    id: str
    path: Path
    problem: str

    def warn_once(self) -> None:
        """Say once per process that the file was skipped."""
        _warn_once(self.path, self.problem.removeprefix(f"{self.path}: "))


def _warn_once(path: Path, why: str) -> None:
    if path not in _warned:
        _warned.add(path)
        warn(f"{path}: skipped: {why}")


def read_bytes(path: Path) -> bytes:
    """A scenario file's bytes: a regular file of at most `MAX_SCENARIO_BYTES` only (a FIFO
    would block, a device such as /dev/zero would never end); a problem is one line naming
    the file."""
    try:
        # Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer;
        # what was opened is then checked, so the check and the read see the same file.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    limit = f"more than the {MAX_SCENARIO_BYTES:,} bytes a scenario file may have"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{path}: not a regular file")
        if info.st_size > MAX_SCENARIO_BYTES:
            raise BadInput(f"{path}: {info.st_size:,} bytes, {limit}")
        data = b""
        while len(data) <= MAX_SCENARIO_BYTES:  # bounded even if the file grows meanwhile
            chunk = os.read(fd, MAX_SCENARIO_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SCENARIO_BYTES:
        raise BadInput(f"{path}: {limit}")
    return data


def read_json(path: Path) -> object:
    """Parse a JSON file (read as `read_bytes` does); a problem becomes one line naming the
    file."""
    return read_json_text(path, read_bytes(path))


def read_json_text(path: Path, raw: bytes) -> object:
    """Parse the bytes of the JSON file `path`; a problem becomes one line naming the file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise BadInput(f"{path}: invalid JSON at {where}: {exc.msg}") from None
    except RecursionError:
        raise BadInput(f"{path}: nested too deeply to be a scenario") from None


def _summary(path: Path, builtin: bool) -> Entry:
    data = read_json(path)
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a JSON object describing one scenario")

    def field(name: str, kind: type[T]) -> T:
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            shown = "missing" if value is None else f"not a {kind.__name__}"
            raise BadInput(f"{path}: field '{name}': {shown}")
        return value

    scenario_id = field("id", str)
    if not SCENARIO_ID.fullmatch(scenario_id):
        raise BadInput(f"{path}: field 'id': {scenario_id!r} is not a simple name ([a-z0-9_]+)")
    if path.stem != scenario_id:
        raise BadInput(f"{path}: field 'id': {scenario_id!r} does not match the file name")
    level = field("level", str)
    if level not in LEVELS:
        raise BadInput(f"{path}: field 'level': {level!r} is not one of {', '.join(LEVELS)}")
    return Entry(
        id=scenario_id,
        title=field("title", str),
        level=level,
        language=field("language", str),
        estimated_minutes=field("estimated_minutes", int),
        path=path,
        builtin=builtin,
    )


def _builtin_paths(folder: Path) -> list[Path]:
    index_path = folder / "index.json"
    index = read_json(index_path)
    ids = index.get("scenarios") if isinstance(index, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadInput(f"{index_path}: field 'scenarios': expected a list of scenario ids")
    for scenario_id in ids:
        if not SCENARIO_ID.fullmatch(scenario_id):
            raise BadInput(f"{index_path}: field 'scenarios': {scenario_id!r} is not a simple name")
    return [folder / f"{scenario_id}.json" for scenario_id in ids]


def _user_file(path: Path) -> Entry | Unreadable:
    try:
        return _summary(path, builtin=False)
    except BadInput as exc:
        return Unreadable(path.stem, path, str(exc))


class Catalogue:
    """Built-in scenarios, then the user's (`$TUTOR_HOME/scenarios`, `--scenarios DIR`).

    A user file with the id of a built-in scenario replaces it, so a teacher can adapt a
    shipped lesson without forking the program. A user file that cannot be read or summarised
    is left out with a warning, so one bad file does not stop every command; it still takes
    its id's place, so asking for that id names the problem instead of running another lesson.
    """

    def __init__(self, entries: Iterable[Entry | Unreadable]) -> None:
        self._entries: dict[str, Entry] = {}
        self._unreadable: dict[str, Unreadable] = {}
        for entry in entries:  # in order: a later file replaces an earlier one with its id
            if isinstance(entry, Unreadable):
                self._entries.pop(entry.id, None)
                self._unreadable[entry.id] = entry
            else:
                self._unreadable.pop(entry.id, None)
                self._entries[entry.id] = entry

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = (), *, asked: str | None = None) -> Catalogue:
        """Read the catalogue's summaries from the built-in and user folders.

        Each unreadable user file is reported once as a warning, except the one for `asked`,
        the id the command is about: that one's problem is the command's error.
        """
        from tutor_cli.storage.paths import user_scenarios_dir

        extra = list(extra_dirs)
        found: list[Entry | Unreadable] = [
            _summary(p, builtin=True) for p in _builtin_paths(builtin_scenarios_dir())
        ]
        for folder in [user_scenarios_dir(), *extra]:
            if not folder.exists():
                if folder in extra:
                    raise BadInput(f"{folder}: scenario folder does not exist")
                continue
            if not folder.is_dir():
                if folder in extra:
                    raise BadInput(f"{folder}: not a folder")
                _warn_once(folder, "not a folder")
                continue
            found.extend(_user_file(p) for p in sorted(folder.glob("*.json")))
        catalogue = cls(found)
        for unreadable in catalogue.unreadable:
            if unreadable.id != asked:
                unreadable.warn_once()
        return catalogue

    @property
    def unreadable(self) -> list[Unreadable]:
        """The user files left out, in the order they were found."""
        return list(self._unreadable.values())

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, scenario_id: str) -> Entry:
        """The entry for `scenario_id`; an unknown one suggests the ids it is part of
        (`taxi`) or that are spelt like it (`a1_taxi_bogot`)."""
        check_scenario_id(scenario_id)
        if scenario_id in self._unreadable:
            raise BadInput(self._unreadable[scenario_id].problem)
        entry = self._entries.get(scenario_id)
        if entry is None:
            ids = list(self._entries)
            close = [known for known in ids if scenario_id in known][:3]
            close = close or difflib.get_close_matches(scenario_id, ids, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else " (see 'tutor list')"
            raise BadInput(f"unknown scenario {scenario_id!r}{hint}")
        return entry

    def filtered(self, level: str | None = None, language: str | None = None) -> list[Entry]:
        """Entries at `level` whose BCP-47 language starts with `language` (`es` finds `es-CO`)."""
        chosen = list(self._entries.values())
        if level is not None:
            chosen = [e for e in chosen if e.level == level]
        if language is not None:
            wanted = language.lower()
            chosen = [
                e
                for e in chosen
                if e.language.lower() == wanted or e.language.lower().startswith(wanted + "-")
            ]
        return chosen


def load_by_id(scenario_id: str, extra_dirs: Iterable[Path] = ()) -> Scenario:
    """The validated scenario for an id; the id is checked before any file is touched."""
    from tutor_cli.lesson.scenario import load_scenario

    check_scenario_id(scenario_id)
    return load_scenario(Catalogue.load(extra_dirs, asked=scenario_id).get(scenario_id).path)
