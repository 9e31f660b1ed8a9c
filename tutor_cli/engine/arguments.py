"""Tool-call arguments shaped to the schema the client declared, as a real model shapes them.

The scripted tutor knows things about the lesson: its own arguments for a tool (a score, the
goals met, the errors with their corrections, how many quiz questions) and facts about the lesson
(its title, language and level). A client declares what its tool takes, and a model fills in
those parameters and nothing else. So does the tutor: each declared property gets what the tutor
knows under that name or a common synonym, when it can take the declared type; a required
property it knows nothing about gets a neutral value (the schema's default, its first enum value,
the minimum or 0, "", [], false); an optional one is left out. Only a schema that declares no
properties at all, and allows others, gets the tutor's own arguments as they are.

The JSON Schema understood is what function declarations use: `type` (one or a list),
`properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`, `enum`,
`const`, `default`, `minimum`, `maximum` and their exclusive forms, and `anyOf`/`oneOf`.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

from tutor_cli.datatypes import datatype

Facts = Mapping[str, Any]


@datatype
class Percentage:
    """A value on a 0-100 scale, such as a score: rescaled to the range a schema declares
    (a score out of 1 or out of 10), so it means the same there."""

    value: float


class _Missing:
    """No value: unknown, or not one the schema can take."""


MISSING = _Missing()
MAX_DEPTH = 16  # levels of nested objects and arrays filled in

# Other names clients give the tutor's arguments and facts, as plain names (see `_plain_name`).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "score": ("grade", "mark", "points", "overall", "overallscore", "totalscore", "percentage"),
    "goals_achieved": ("goals", "goalsmet", "achievedgoals", "metgoals", "objectivesmet"),
    "errors": ("mistakes", "corrections", "issues"),
    "feedback": ("comment", "comments", "summary", "notes", "remarks", "message"),
    "next_steps": ("recommendations", "suggestions", "advice", "practice"),
    "questions": ("count", "numquestions", "questioncount", "numberofquestions", "nquestions"),
    "topic": ("subject", "theme", "lesson", "title"),
    "level": ("cefr", "cefrlevel", "proficiency", "languagelevel"),
    "language": ("lang", "targetlanguage", "locale", "languagecode"),
    "scenario": ("scenarioid", "lessonid"),
    "said": ("original", "learner", "learnersaid", "wrong", "incorrect", "mistake", "utterance"),
    "correction": ("correct", "corrected", "fix", "expected", "better"),
    "kind": ("type", "category"),
}


def _plain_name(name: str) -> str:
    """`goalsMet`, `goals_met` and `Goals-Met` are one name."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_CANONICAL = {
    other: _plain_name(canonical) for canonical, others in _SYNONYMS.items() for other in others
}


def declared_tools(tools: Any) -> dict[str, dict[str, Any]]:
    """The function tools in a session's or a response's `tools`: name -> the JSON Schema of
    its parameters (empty when it declares none)."""
    declared: dict[str, dict[str, Any]] = {}
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        if isinstance(tool.get("name"), str):
            parameters = tool.get("parameters")
            declared[tool["name"]] = parameters if isinstance(parameters, dict) else {}
    return declared


def shaped_arguments(schema: Mapping[str, Any], own: Facts, context: Facts) -> dict[str, Any]:
    """Arguments for a tool declared with parameters `schema`: the tutor's `own` arguments for
    it and the lesson `context`, each under the declared names and types, and nothing the
    schema does not declare."""
    return _fill(schema, own, context, 0)


def plain(value: Any) -> Any:
    """`value` as JSON data (percentages as their 0-100 number)."""
    if isinstance(value, Percentage):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _fill(schema: Mapping[str, Any], own: Facts, context: Facts, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if depth > MAX_DEPTH:
        return {}  # a schema is client input: deeper than any real declaration goes
    if not isinstance(properties, Mapping) or not properties:
        # Nothing declared: the tutor's own arguments are as good a guess as any, unless the
        # schema forbids every property.
        return {} if schema.get("additionalProperties", True) is False else plain(own)
    required = {name for name in schema.get("required") or [] if isinstance(name, str)}
    known = {_plain_name(k): v for k, v in [*context.items(), *own.items()]}  # own ones win
    out: dict[str, Any] = {}
    for name, subschema in properties.items():
        sub = subschema if isinstance(subschema, Mapping) else {}
        value = _known(known, name)
        if value is not MISSING:
            value = _shaped(value, sub, depth + 1)
        if value is MISSING and name in required:
            value = _neutral(sub, depth + 1)
        if value is not MISSING:
            out[name] = value
    for name in sorted(required - out.keys()):  # required but never described: anything goes
        found = _known(known, name)
        out[name] = "" if found is MISSING else plain(found)
    return out


def _known(known: dict[str, Any], name: str) -> Any:
    key = _plain_name(name)
    if key in known:
        return known[key]
    return known.get(_CANONICAL.get(key, ""), MISSING)


def _types(schema: Mapping[str, Any]) -> list[str | None]:
    """The declared types in order, nulls last; [None] when any type will do."""
    declared = schema.get("type")
    names = declared if isinstance(declared, list) else [declared] if declared else []
    names = [n for n in names if isinstance(n, str)]
    return sorted(names, key=lambda n: n == "null") or [None]


def _shaped(value: Any, schema: Mapping[str, Any], depth: int) -> Any:
    """`value` as the schema's type, within its bounds and enum; MISSING if it cannot be."""
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        for branch in branches:
            found = _shaped(value, branch, depth) if isinstance(branch, Mapping) else MISSING
            if found is not MISSING:
                return found
        return MISSING
    for type_name in _types(schema):
        found = _as_type(value, type_name, schema, depth)
        enum = schema.get("enum")
        if found is not MISSING and (not isinstance(enum, list) or found in enum):
            return found
    return MISSING


def _as_type(value: Any, type_name: str | None, schema: Mapping[str, Any], depth: int) -> Any:
    number = isinstance(value, int | float | Percentage) and not isinstance(value, bool)
    match type_name:
        case None:
            return plain(value)
        case "object":
            return _fill(schema, value, {}, depth) if isinstance(value, Mapping) else MISSING
        case "array":
            if not isinstance(value, list | tuple):
                return MISSING
            items = _subschema(schema, "items")
            shaped = [s for v in value if (s := _shaped(v, items, depth + 1)) is not MISSING]
            limit = schema.get("maxItems")
            return shaped[:limit] if isinstance(limit, int) else shaped
        case "string":
            return _as_text(value)
        case "integer" | "number" if number:
            return _within(_scaled(value, schema), schema, integer=type_name == "integer")
        case "boolean" if isinstance(value, bool):
            return value
        case "null" if value is None:
            return None
    return MISSING


def _as_text(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Percentage | int | float) and not isinstance(value, bool):
        number = plain(value)
        return str(int(number)) if float(number).is_integer() else str(number)
    if isinstance(value, Mapping) and isinstance(value.get("said"), str):
        return f"{value['said']} → {value.get('correction', '')}"  # an error and its correction
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    return MISSING


def _scaled(value: float | Percentage, schema: Mapping[str, Any]) -> float:
    if not isinstance(value, Percentage):
        return value
    low, high = schema.get("minimum", 0), schema.get("maximum")
    if not _is_number(low) or not _is_number(high) or high <= low:
        return value.value
    return float(low + (high - low) * value.value / 100)


def _within(value: float, schema: Mapping[str, Any], *, integer: bool) -> Any:
    if not math.isfinite(value):
        return MISSING
    low, high = _bounds(schema, integer=integer)
    value = min(max(value, low), high)
    return round(value) if integer else value


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    step = 1 if integer else 1e-9
    low, high = -math.inf, math.inf
    if _is_number(schema.get("minimum")):
        low = schema["minimum"]
    if _is_number(schema.get("exclusiveMinimum")):
        low = max(low, schema["exclusiveMinimum"] + step)
    if _is_number(schema.get("maximum")):
        high = schema["maximum"]
    if _is_number(schema.get("exclusiveMaximum")):
        high = min(high, schema["exclusiveMaximum"] - step)
    if integer:
        low = math.ceil(low) if math.isfinite(low) else low
        high = math.floor(high) if math.isfinite(high) else high
    return low, high


def _subschema(schema: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = schema.get(key)
    return found if isinstance(found, Mapping) else {}


def _small_count(value: Any) -> int:
    """A count a schema asks for, within reason (a schema is client input)."""
    return min(value, 100) if isinstance(value, int) and not isinstance(value, bool) else 0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _neutral(schema: Mapping[str, Any], depth: int) -> Any:
    """A value for a required property the tutor knows nothing about."""
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(schema["enum"][0])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list) and branches and isinstance(branches[0], Mapping):
        return _neutral(branches[0], depth)
    match _types(schema)[0]:
        case "integer" | "number" as type_name:
            low, high = _bounds(schema, integer=type_name == "integer")
            zero = min(max(0, low), high)  # 0, or the bound nearest to it
            return round(zero) if type_name == "integer" else zero
        case "boolean":
            return False
        case "array":
            count = schema.get("minItems")
            items = _subschema(schema, "items")
            return [_neutral(items, depth + 1) for _ in range(_small_count(count))]
        case "object":
            return _fill(schema, {}, {}, depth)
        case "null":
            return None
    return ""
