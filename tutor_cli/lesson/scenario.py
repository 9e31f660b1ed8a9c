"""The scenario: a role-play lesson, as the program uses it.

A scenario file is JSON. Its learner-facing text (opening, tutor lines, hints, model
answers, vocabulary) is written in the target language; goals and objectives are written in
the learner's language so the tutor can report on them.

The types here are plain frozen dataclasses. The schema that checks a file field by field is
`scenario_schema` (pydantic), and it runs once per file content: the checked data (defaults
filled in) is kept in `$TUTOR_HOME/cache/scenarios/` (written as the process exits), named
after a digest of the file and of the schema's own source, so a later call builds its
scenario straight from it, without importing pydantic. A changed file, or a changed schema,
is checked again.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import json
import os
from dataclasses import field
from pathlib import Path
from typing import Any, Literal, Self

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import read_bytes, read_json_text

Level = Literal["A1", "A2", "B1", "B2", "C1", "C2"]
Voice = Literal[
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"
]
ToolName = Literal["grade_lesson", "trigger_quiz"]
CorrectionStyle = Literal["immediate", "gentle", "end_of_session"]
ALL_TOOLS: tuple[ToolName, ...] = ("grade_lesson", "trigger_quiz")


class _Frozen:
    """What the scenario's parts share with the pydantic models they were before."""

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        """A copy with the fields in `update` changed (not checked again)."""
        return type(self)(**{**vars(self), **(update or {})})


@datatype
class Persona(_Frozen):
    """Who the tutor plays."""

    name: str
    role: str
    setting: str
    voice: Voice = "marin"


@datatype
class Slot(_Frozen):
    """What the learner chooses at a step (a destination, a country, a dish): the words the
    tutor recognises, so a correction can keep the learner's choice.

    `words`: what a learner may say -> how it is said in the lesson's language; `fills`: the
    words of the model answer a choice replaces."""

    fills: str
    words: dict[str, str]


@datatype(kw_only=True)  # fields in the file's order, defaults or not
class Step(_Frozen):
    """One stage of the role-play: what the tutor says, and what the learner must achieve.

    A turn meets the step when it matches at least one `accept` pattern (if there are any),
    every `require` pattern, and no `reject` pattern. Patterns are Python regular expressions
    searched case-insensitively, in the turn as written and without accents. `goals`: the
    numbers of the goals this step serves (1 is the first goal)."""

    id: str
    tutor: str
    objective: str
    goals: list[int]
    accept: list[str] = field(default_factory=list)
    require: list[str] = field(default_factory=list)
    reject: list[str] = field(default_factory=list)
    hint: str
    model_answer: str
    slot: Slot | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Step:
        """Build from checked data: no checks here."""
        slot = data.get("slot")
        return cls(**{**data, "slot": Slot(**slot) if slot else None})


@datatype
class VocabularyItem(_Frozen):
    term: str
    meaning: str
    example: str


@datatype
class TurnDetection(_Frozen):
    """How the server decides the learner has finished speaking."""

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None


@datatype(kw_only=True)  # fields in the file's order, defaults or not
class Scenario(_Frozen):
    """A role-play lesson."""

    id: str
    title: str
    level: Level
    language: str
    learner_language: str
    persona: Persona
    goals: list[str]
    steps: list[Step]
    vocabulary: list[VocabularyItem] = field(default_factory=list)
    correction_style: CorrectionStyle = "gentle"
    opening: str
    tools: list[ToolName] = field(default_factory=lambda: list(ALL_TOOLS))
    estimated_minutes: int
    turn_detection: TurnDetection | None = None
    speech_speed: float = 1.0

    def steps_serving(self, goal_number: int) -> list[Step]:
        """The steps that serve goal `goal_number` (1 is the first)."""
        return [step for step in self.steps if goal_number in step.goals]

    @property
    def language_code(self) -> str:
        """The primary language subtag (`es` for `es-CO`), as transcription models take it."""
        return self.language.split("-")[0]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Scenario:
        """Build from checked data (`scenario_schema.validated_data`): no checks here."""
        detection = data.get("turn_detection")
        return cls(
            **{
                **data,
                "persona": Persona(**data["persona"]),
                "steps": [Step.from_data(step) for step in data["steps"]],
                "vocabulary": [VocabularyItem(**item) for item in data.get("vocabulary", [])],
                "turn_detection": TurnDetection(**detection) if detection else None,
            }
        )

    def as_json(self) -> dict[str, Any]:
        """Every field, defaults included, as JSON values (`tutor show --json`)."""
        return dataclasses.asdict(self)


# Scenarios built in this process, by file digest: a call reads its scenario twice (the
# command, then the offline engine).
_built: dict[str, Scenario] = {}
_pending: dict[Path, dict[str, Any]] = {}  # checked data to keep, written at exit
_schema_digest: str | None = None


def _schema_fingerprint() -> str:
    """A digest of the schema's, these types' and the pattern check's source: checked data
    from another version of any of them is not trusted."""
    global _schema_digest
    if _schema_digest is None:
        here = Path(__file__).parent
        digest = hashlib.sha256()
        for name in ("scenario_schema.py", "scenario.py", "patterns.py"):
            with contextlib.suppress(OSError):
                digest.update((here / name).read_bytes())
        _schema_digest = digest.hexdigest()[:16]
    return _schema_digest


def _cache_dir() -> Path:
    from tutor_cli.storage.paths import tutor_home

    return tutor_home() / "cache" / "scenarios"


def _from_cache(key: str) -> Scenario | None:
    """The scenario from data checked before, if it was (and the entry is sound)."""
    try:
        data = json.loads((_cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
        return Scenario.from_data(data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # not there, or damaged: checked again


def _remember(key: str, data: dict[str, Any]) -> None:
    """Keep checked data for the next call, when this process exits: by then the command's
    own files are written, so a cache never takes the room a lesson needed on a full disk."""
    if not _pending:
        atexit.register(_write_pending)
    _pending[_cache_dir() / f"{key}.json"] = data


def _write_pending() -> None:
    """Only into a home that exists by now (a first call makes it after its check; nothing is
    created for a cache); a home that cannot be written only costs the next call the check."""
    from tutor_cli.storage.paths import ensure_private_dir, tutor_home

    if not tutor_home().is_dir():
        _pending.clear()
        return
    for target, data in _pending.items():
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            ensure_private_dir(target.parent)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(partial, target)  # whole or not at all, for any reader
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()
    _pending.clear()


def load_scenario(path: Path) -> Scenario:
    """Read and check one scenario file; any problem is a one-line `BadInput`."""
    raw = read_bytes(path)
    key = hashlib.sha256(raw + _schema_fingerprint().encode()).hexdigest()[:32]
    built = _built.get(key)
    if built is None:
        built = _from_cache(key)
        if built is None:
            from tutor_cli.lesson.scenario_schema import validated_data

            data = validated_data(path, read_json_text(path, raw))
            built = Scenario.from_data(data)
            _remember(key, data)
        _built[key] = built
    if built.id != path.stem:
        raise BadInput(f"{path}: field 'id': {built.id!r} does not match the file name")
    return built
