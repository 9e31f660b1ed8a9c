"""The scenario catalogue: which scenarios exist, where their files are, and a summary of each.

This module is on the start-up path of `tutor list`, so it reads JSON with the standard
library only; the full validation (pydantic) lives in `scenarios.py` and runs when a scenario
is used (`tutor show`, `tutor call`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tutor_cli.errors import BadInput

if TYPE_CHECKING:
    from tutor_cli.lesson.scenario import Scenario

SCENARIO_ID = re.compile(r"[a-z0-9_]+")
T = TypeVar("T")


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


@dataclass(frozen=True)
class Entry:
    """One scenario in the catalogue, as `tutor list` shows it."""

    id: str
    title: str
    level: str
    language: str
    estimated_minutes: int
    path: Path
    builtin: bool


def read_json(path: Path) -> object:
    """Parse a JSON file; a problem becomes one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise BadInput(f"{path}: invalid JSON at {where}: {exc.msg}") from None


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


class Catalogue:
    """Built-in scenarios, then the user's (`$TUTOR_HOME/scenarios`, `--scenarios DIR`).

    A user file with the id of a built-in scenario replaces it, so a teacher can adapt a
    shipped lesson without forking the program.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: dict[str, Entry] = {}
        for entry in entries:
            self._entries[entry.id] = entry

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = ()) -> Catalogue:
        """Read the catalogue's summaries from the built-in and user folders."""
        from tutor_cli.storage.paths import user_scenarios_dir

        entries = [_summary(p, builtin=True) for p in _builtin_paths(builtin_scenarios_dir())]
        user_dirs = [user_scenarios_dir(), *extra_dirs]
        for folder in user_dirs:
            if not folder.exists():
                if folder in extra_dirs:
                    raise BadInput(f"{folder}: scenario folder does not exist")
                continue
            if not folder.is_dir():
                raise BadInput(f"{folder}: not a folder")
            entries.extend(_summary(p, builtin=False) for p in sorted(folder.glob("*.json")))
        return cls(entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, scenario_id: str) -> Entry:
        """The entry for `scenario_id`; an unknown one suggests close matches."""
        check_scenario_id(scenario_id)
        entry = self._entries.get(scenario_id)
        if entry is None:
            close = difflib.get_close_matches(scenario_id, list(self._entries), n=3, cutoff=0.5)
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
    return load_scenario(Catalogue.load(extra_dirs).get(scenario_id).path)
