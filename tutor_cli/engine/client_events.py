"""Reading client events on the engine's side: the frame, the shapes its fields must have, and
refusals.

A client event the engine cannot take is refused with a `ClientError`, which the protocol
turns into an `error` event naming the client's `event_id` and the field at fault (`param`);
the session goes on. `parse_frame` refuses what is not a JSON object the engine can safely hold
and echo (too deeply nested, `NaN`, a lone surrogate); the shapes below refuse fields of the
wrong type or out of range, as the OpenAI SDK's client-event types declare them
(`client_shapes` holds the table).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from tutor_cli.datatypes import datatype

Event = dict[str, Any]

# Far deeper than any event needs (a tool's JSON schema is the deepest part), far shallower
# than what would exhaust the stack of whoever copies or encodes the event afterwards.
MAX_DEPTH = 64
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class ClientError(Exception):
    """A client event the engine refuses; it becomes an `error` event and the session goes on."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def parse_frame(frame: str | bytes) -> Event:
    """A client frame as an event: a JSON object no deeper than `MAX_DEPTH`, holding text that
    is Unicode (no lone surrogate, which no reply could carry) and no `NaN` or `Infinity`."""
    if isinstance(frame, bytes):
        raise ClientError("invalid_event", "binary frames are not accepted; send JSON text")
    try:
        event = json.loads(frame, parse_constant=_refuse_constant)
    except RecursionError:
        raise ClientError(
            "invalid_json", f"the frame nests deeper than {MAX_DEPTH} levels"
        ) from None
    except ValueError as exc:  # JSONDecodeError, the constants, a number of 5000 digits
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(":")[0]
        raise ClientError("invalid_json", f"the frame is not valid JSON: {reason}") from None
    # Counting brackets is cheap; walking the tree only pays for frames that might be deep or
    # hold a surrogate. The regex only runs where one could be (a `\u` escape, or text that
    # is not ASCII, known without a scan): not over the base64 of 50 mic appends a second.
    maybe_surrogate = not frame.isascii() or "\\u" in frame
    deep = frame.count("[") + frame.count("{") > MAX_DEPTH
    if deep or (maybe_surrogate and _ESCAPED_SURROGATE.search(frame)):
        _check_tree(event)
    if not isinstance(event, dict):
        raise ClientError("invalid_event", "an event must be a JSON object")
    return event


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_tree(root: Any) -> None:
    stack: list[tuple[Any, str, int]] = [(root, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ClientError(
                    "invalid_value",
                    f"'{path}' holds a lone surrogate: text must be Unicode",
                    path or None,
                )
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise ClientError("invalid_json", f"the frame nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            stack += ((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(value))
            continue
        for key, child in value.items():
            name = f"{path}.{key}" if path else key
            if _SURROGATE.search(key):
                raise ClientError(
                    "invalid_value", "a field name holds a lone surrogate", path or None
                )
            stack.append((child, name, depth + 1))


# --- shapes -----------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """A value's JSON type, as error messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _shown(value: Any) -> str:
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Shape:
    """What a field must hold; `check` refuses anything else, naming the field."""

    def takes(self) -> frozenset[str]:
        """The JSON types it takes at all."""
        return frozenset()

    def check(self, value: Any, path: str) -> None:
        """Refuse `value` (at `path`) with a `ClientError` unless it fits."""
        if not _fits_kind(value, self.takes()):
            raise ClientError(
                "invalid_type",
                f"Invalid type for '{path}': expected {self.describe()}, "
                f"but got {_kind(value)} instead.",
                path,
            )

    def describe(self) -> str:
        """What it takes, in words."""
        return " or ".join(f"a{'n' if k[0] in 'aio' else ''} {k}" for k in sorted(self.takes()))


def _fits_kind(value: Any, kinds: frozenset[str]) -> bool:
    kind = _kind(value)
    return kind in kinds or (kind == "integer" and "number" in kinds)


class Text(Shape):
    """A string."""

    def takes(self) -> frozenset[str]:
        """Strings."""
        return frozenset({"string"})


class Flag(Shape):
    """true or false."""

    def takes(self) -> frozenset[str]:
        """Booleans."""
        return frozenset({"boolean"})


class AnyJson(Shape):
    """Any JSON value (a tool's parameter schema: the engine only passes it on)."""

    def check(self, value: Any, path: str) -> None:
        """Everything fits."""

    def describe(self) -> str:
        """Anything."""
        return "any value"


@datatype
class Whole(Shape):
    """An integer from `low` to `high`."""

    low: int = 0
    high: int = 10**12

    def takes(self) -> frozenset[str]:
        """Integers (not 1.0, not true)."""
        return frozenset({"integer"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but an integer in range."""
        super().check(value, path)
        if not self.low <= value <= self.high:
            raise _out_of_range(path, value, self.low, self.high)


@datatype
class Number(Shape):
    """A finite number from `low` to `high`."""

    low: float
    high: float

    def takes(self) -> frozenset[str]:
        """Numbers, integers included."""
        return frozenset({"number"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but a number in range."""
        super().check(value, path)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise _out_of_range(path, value, self.low, self.high)


def _out_of_range(path: str, value: Any, low: float, high: float) -> ClientError:
    return ClientError(
        "invalid_value",
        f"Invalid '{path}': expected a value from {low} to {high}, but got {_shown(value)}.",
        path,
    )


@datatype
class OneOf(Shape):
    """One of a few values (string or integer literals)."""

    values: tuple[str | int, ...]

    def takes(self) -> frozenset[str]:
        """The JSON types of its values."""
        return frozenset(_kind(v) for v in self.values)

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but one of the values (true is not 1 here)."""
        super().check(value, path)
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise ClientError(
                "invalid_value",
                f"Invalid value for '{path}': {_shown(value)}. Supported values are: "
                f"{', '.join(repr(v) for v in self.values)}.",
                path,
            )


@datatype
class Nullable(Shape):
    """null, or what `shape` takes."""

    shape: Shape

    def takes(self) -> frozenset[str]:
        """Its shape's types, and null."""
        return self.shape.takes() | {"null"}

    def describe(self) -> str:
        """Its shape, or null."""
        return f"{self.shape.describe()} or null"

    def check(self, value: Any, path: str) -> None:
        """null fits; anything else is the shape's to judge."""
        if value is not None:
            self.shape.check(value, path)


@datatype
class ListOf(Shape):
    """An array of `item`s, at most `most` of them."""

    item: Shape
    most: int = 1000

    def takes(self) -> frozenset[str]:
        """Arrays."""
        return frozenset({"array"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but an array of fitting items."""
        super().check(value, path)
        if len(value) > self.most:
            raise ClientError(
                "invalid_value", f"'{path}' holds more than {self.most} entries", path
            )
        for index, item in enumerate(value):
            self.item.check(item, f"{path}[{index}]")


@datatype
class MapOf(Shape):
    """An object whose every value is a `value` (metadata, headers)."""

    value: Shape

    def takes(self) -> frozenset[str]:
        """Objects."""
        return frozenset({"object"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but an object of fitting values."""
        super().check(value, path)
        for key, item in value.items():
            self.value.check(item, f"{path}.{key}")


@datatype
class Record(Shape):
    """An object with these fields; unknown fields pass, as they do for the SDK's types."""

    fields: Mapping[str, Shape]
    required: frozenset[str] = field(default_factory=frozenset)

    def takes(self) -> frozenset[str]:
        """Objects."""
        return frozenset({"object"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but an object whose fields fit, with every required one present."""
        super().check(value, path)
        for name, shape in self.fields.items():
            where = f"{path}.{name}" if path else name
            if name in value:
                shape.check(value[name], where)
            elif name in self.required:
                raise ClientError(
                    "missing_required_parameter", f"Missing required parameter: '{where}'.", where
                )


@datatype
class Variants(Shape):
    """An object whose `tag` field says which record it is (`default` when absent or null)."""

    tag: str
    records: Mapping[str, Shape]  # a record, or variants told apart by another field
    default: str | None = None

    def takes(self) -> frozenset[str]:
        """Objects."""
        return frozenset({"object"})

    def check(self, value: Any, path: str) -> None:
        """Refuse anything but an object that fits the record its tag names."""
        super().check(value, path)
        where = f"{path}.{self.tag}" if path else self.tag
        tag = value.get(self.tag)
        if tag is None:
            if self.default is None and self.tag in value:
                Text().check(tag, where)
            if self.default is None:
                raise ClientError(
                    "missing_required_parameter", f"Missing required parameter: '{where}'.", where
                )
            tag = self.default
        OneOf(tuple(self.records)).check(tag, where)
        self.records[tag].check(value, path)


@datatype
class Either(Shape):
    """One of several shapes, told apart by the value's JSON type."""

    shapes: tuple[Shape, ...]

    def takes(self) -> frozenset[str]:
        """Every type one of them takes."""
        return frozenset().union(*(s.takes() for s in self.shapes))

    def describe(self) -> str:
        """Each alternative."""
        return " or ".join(s.describe() for s in self.shapes)

    def check(self, value: Any, path: str) -> None:
        """The shape that takes the value's type judges it."""
        super().check(value, path)
        next(s for s in self.shapes if _fits_kind(value, s.takes())).check(value, path)
