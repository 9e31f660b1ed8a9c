"""The tool registry: which tools exist, their schemas, and running one call safely.

A tool call comes from the model, so anything can arrive: a name we do not know, arguments
that are not JSON, arguments that break the schema, a handler that fails. None of that may
crash the Call; every problem becomes an error output the model can read and recover from.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from tutor_cli.datatypes import datatype
from tutor_cli.tools.outcomes import ToolOutcome, effect_of

if TYPE_CHECKING:
    from tutor_cli.lesson.scenario import Scenario
    from tutor_cli.tools.quiz import Quiz

logger = logging.getLogger(__name__)


class ToolError(Exception):
    """A handler's way to refuse: bad arguments or an impossible request.

    The message goes to the model as is, so it should be one sentence it can act on.
    """


@datatype(frozen=False)
class ToolContext:
    """What a handler may touch: the lesson, the progress store, and the learner's screen."""

    scenario: Scenario
    record_grade: Callable[[dict[str, Any]], dict[str, Any]]
    """Stores a grade for this session and returns what was stored."""
    record_quiz: Callable[[dict[str, Any]], dict[str, Any]]
    """Stores a quiz result for this session and returns what was stored."""
    ask_quiz: Callable[[Quiz], Awaitable[list[str]]]
    """Shows the quiz; returns the learner's answers, one per question ("" when skipped)."""


Handler = Callable[[dict[str, Any], ToolContext], Awaitable[dict[str, Any]]]


@datatype
class Tool:
    """A tool the model can call: its spec (from `specs.py`) and the coroutine that runs it."""

    name: str
    spec: dict[str, Any]
    handler: Handler


# JSON Schema type name -> the Python types json.loads produces for it.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}

_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}


def _json_type_of(value: Any) -> str:
    # bool is checked first: in Python it is an int, in JSON it is not a number.
    if isinstance(value, bool):
        return "boolean"
    for name in ("null", "object", "array", "string", "integer", "number"):
        if isinstance(value, _JSON_TYPES[name]):
            return name
    return type(value).__name__


def _is_type(value: Any, type_name: str) -> bool:
    if type_name not in _JSON_TYPES:
        return True  # a type outside our subset is not ours to refuse
    if isinstance(value, bool):
        return type_name == "boolean"
    if type_name == "integer" and isinstance(value, float):
        return value.is_integer()  # JSON has one number type: 3.0 is an integer
    return isinstance(value, _JSON_TYPES[type_name])


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _problem(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def validate(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Check `value` against the JSON Schema subset our tool specs use.

    Supported keywords: type, properties, required, items, enum, minimum, maximum. Returns
    human-readable problems, each prefixed with where it is (`errors[0].kind: ...`); an empty
    list means the value is valid. Properties not in the schema are allowed, as in JSON Schema.
    """
    expected = schema.get("type")
    if expected is not None:
        names: list[str] = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, name) for name in names):
            wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
            got = _TYPE_WORDS.get(_json_type_of(value), _json_type_of(value))
            return [_problem(path, f"expected {wanted}, got {got} ({_show(value)})")]

    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(str(option) for option in schema["enum"])
        problems.append(_problem(path, f"{_show(value)} is not one of {allowed}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(_problem(path, f"{value} is below the minimum of {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(_problem(path, f"{value} is above the maximum of {schema['maximum']}"))
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(_problem(_join(path, name), "missing (required)"))
        for name, subschema in schema.get("properties", {}).items():
            if name in value:
                problems.extend(validate(subschema, value[name], _join(path, name)))
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems.extend(validate(schema["items"], item, f"{path}[{index}]"))
    return problems


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class ToolRegistry:
    """The tools a session offers, by name."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name!r} is registered twice")
            self._tools[tool.name] = tool

    @classmethod
    def default(cls) -> ToolRegistry:
        """The tutor's own tools: grade_lesson and trigger_quiz."""
        # Imported here because the handlers import this module for Tool and ToolError.
        from tutor_cli.tools.grade import GRADE_LESSON_TOOL
        from tutor_cli.tools.quiz import TRIGGER_QUIZ_TOOL

        return cls([GRADE_LESSON_TOOL, TRIGGER_QUIZ_TOOL])

    @property
    def names(self) -> list[str]:
        """The registered tool names, in registration order."""
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def specs(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """The specs for `session.update`, in the order given; unknown names are skipped.

        Copies, so whoever builds the session config cannot alter the registry's schemas.
        """
        return [copy.deepcopy(self._tools[n].spec) for n in names if n in self._tools]

    async def run(self, name: str, arguments: str, ctx: ToolContext) -> ToolOutcome:
        """Run one tool call from the model; every failure becomes an error outcome.

        `arguments` is the raw JSON string from `response.function_call_arguments.done`.
        Only cancellation escapes (it is not an error of the tool, and the Call must see it).
        """
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return tool_failure(name, f"Unknown tool {name!r}; the available tools are: {known}.")

        # Models send "" for a call without arguments; that means no arguments, not bad JSON.
        text = arguments if arguments.strip() else "{}"
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            return tool_failure(
                name,
                f"The arguments for {name!r} are not valid JSON "
                f"({exc.msg} at line {exc.lineno} column {exc.colno}).",
            )
        if not isinstance(parsed, dict):
            got = _TYPE_WORDS.get(_json_type_of(parsed), "something else")
            return tool_failure(
                name, f"The arguments for {name!r} must be a JSON object, not {got}."
            )

        problems = validate(tool.spec.get("parameters", {}), parsed)
        if problems:
            return tool_failure(name, f"Invalid arguments for {name!r}: {'; '.join(problems)}.")

        try:
            result = await tool.handler(parsed, ctx)
        except ToolError as exc:
            return tool_failure(name, str(exc) or f"The tool {name!r} could not do that.")
        except Exception as exc:
            # The model gets the exception's type only: tracebacks and messages may hold
            # paths or data that mean nothing to it. The full story goes to the debug log.
            logger.debug("tool %s failed", name, exc_info=True)
            return tool_failure(
                name, f"The tool {name!r} failed unexpectedly ({type(exc).__name__})."
            )

        if not isinstance(result, dict):
            return tool_failure(name, f"The tool {name!r} failed unexpectedly (it gave no result).")
        # default=str: the handler's side effect (a stored grade) has already happened, so
        # an odd value in the result must not turn into an error the model would retry.
        output = json.dumps({"ok": True, **result}, ensure_ascii=False, default=str)
        sent = json.loads(output)
        sent.pop("ok", None)
        return ToolOutcome(name, True, output, sent, effect=effect_of(name, sent))


def tool_failure(name: str, message: str) -> ToolOutcome:
    """An outcome that tells the model the call failed, and why."""
    output = json.dumps({"ok": False, "error": message}, ensure_ascii=False)
    return ToolOutcome(name=name, ok=False, output=output, error=message)
