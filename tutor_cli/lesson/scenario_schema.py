"""What a scenario file must hold, checked field by field (pydantic): the validator behind
`load_scenario`. It runs once per file content: what it accepts is remembered (see
`scenario.py`), so a call does not build these models on its way to the first tutor line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import SCENARIO_ID
from tutor_cli.lesson.patterns import check_pattern
from tutor_cli.lesson.scenario import (
    ALL_TOOLS,
    CorrectionStyle,
    Level,
    ToolName,
    Voice,
)

# BCP-47 as people write it for a spoken language: `es`, `es-CO`, `pt-BR`, `zh-Hans-CN`.
LANGUAGE_TAG = r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?"
SimpleId = Annotated[str, Field(pattern=f"^{SCENARIO_ID.pattern}$")]
Text = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt field should not silently do nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Persona(Strict):
    """Who the tutor plays."""

    name: Text
    role: Text
    setting: Text
    voice: Voice = "marin"


Patterns = Annotated[list[Text], Field(default_factory=list)]


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        check_pattern(pattern)
    return patterns


class Slot(Strict):
    """What the learner chooses at a step (a destination, a country, a dish): the words the
    tutor recognises, so a correction can keep the learner's choice."""

    fills: Text = Field(description="The words of the model answer a choice replaces.")
    words: dict[Text, Text] = Field(
        min_length=1,
        description="What a learner may say (any language, matched without accents) -> how it "
        "is said in the lesson's language, as it goes into the model answer.",
    )


class Step(Strict):
    """One stage of the role-play: what the tutor says, and what the learner must achieve.

    A turn meets the step when it matches at least one `accept` pattern (if there are any),
    every `require` pattern, and no `reject` pattern. Patterns are Python regular expressions
    searched case-insensitively, in the turn as written and without accents."""

    id: SimpleId
    tutor: Text = Field(description="What the tutor says or does to open this step.")
    objective: Text = Field(description="What the learner must achieve, in the learner's language.")
    goals: list[Annotated[int, Field(ge=1)]] = Field(
        min_length=1,
        description="The numbers of the goals this step serves (1 is the first goal).",
    )
    accept: Patterns = Field(description="At least one of them must match.")
    require: Patterns = Field(description="Each of them must match.")
    reject: Patterns = Field(description="None of them may match.")
    hint: Text
    model_answer: Text
    slot: Slot | None = None

    @field_validator("accept", "require", "reject")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        return _compiled(patterns)

    @model_validator(mode="after")
    def _something_to_match(self) -> Step:
        if not self.accept and not self.require:
            raise ValueError("a step needs 'accept' or 'require' patterns")
        if self.slot is not None and self.slot.fills not in self.model_answer:
            raise ValueError(f"slot.fills {self.slot.fills!r} is not in the model answer")
        return self


class VocabularyItem(Strict):
    term: Text
    meaning: Text
    example: Text


class TurnDetection(Strict):
    """How the server decides the learner has finished speaking."""

    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=5000)
    silence_duration_ms: int | None = Field(default=None, ge=100, le=10000)
    eagerness: Literal["low", "medium", "high", "auto"] | None = None

    @model_validator(mode="after")
    def _fields_fit_type(self) -> TurnDetection:
        vad_only = ("threshold", "prefix_padding_ms", "silence_duration_ms")
        if self.type == "semantic_vad" and any(getattr(self, f) is not None for f in vad_only):
            raise ValueError("semantic_vad takes only 'eagerness'")
        if self.type == "server_vad" and self.eagerness is not None:
            raise ValueError("'eagerness' is for semantic_vad only")
        return self


class Scenario(Strict):
    """A role-play lesson."""

    id: SimpleId
    title: Text
    level: Level
    language: Annotated[str, Field(pattern=f"^{LANGUAGE_TAG}$")]
    learner_language: Annotated[str, Field(pattern=f"^{LANGUAGE_TAG}$")]
    persona: Persona
    goals: list[Text] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    vocabulary: list[VocabularyItem] = Field(default_factory=list)
    correction_style: CorrectionStyle = "gentle"
    opening: Text
    tools: list[ToolName] = Field(default_factory=lambda: list(ALL_TOOLS))
    estimated_minutes: int = Field(ge=1, le=180)
    turn_detection: TurnDetection | None = None
    speech_speed: float = Field(default=1.0, ge=0.25, le=1.5)

    @model_validator(mode="after")
    def _unique_step_ids(self) -> Scenario:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self

    @model_validator(mode="after")
    def _every_goal_served(self) -> Scenario:
        for step in self.steps:
            for number in step.goals:
                if number > len(self.goals):
                    raise ValueError(
                        f"step {step.id!r} serves goal {number}, but there are "
                        f"{len(self.goals)} goals"
                    )
        for number, goal in enumerate(self.goals, start=1):
            if not any(number in step.goals for step in self.steps):
                raise ValueError(f"goal {number} ({goal!r}) is served by no step")
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe_validation_error(path: Path, error: ValidationError) -> str:
    """One line naming the file and the first offending field."""
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    more = error.error_count() - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{path}: field '{_location(tuple(first['loc']))}': {message}{tail}"


def validated_data(path: Path, data: object) -> dict[str, Any]:
    """`data` (a parsed scenario file) checked against the schema, with every default filled
    in: what the runtime types are built from. Any problem is a one-line `BadInput`."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise BadInput(describe_validation_error(path, exc)) from None
    return scenario.model_dump(mode="json")
