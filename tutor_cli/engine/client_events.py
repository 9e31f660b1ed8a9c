"""Reading client events on the engine's side: typed field access, and refusals.

A client event the engine cannot take is refused with a `ClientError`, which the protocol
turns into an `error` event naming the client's `event_id`; the session goes on.
"""

from __future__ import annotations

from typing import Any, TypeVar

Event = dict[str, Any]
T = TypeVar("T")


class ClientError(Exception):
    """A client event the engine refuses; it becomes an `error` event and the session goes on."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def optional(event: Event, name: str, kind: type[T]) -> T | None:
    """`event[name]` if present and of type `kind` (a bool is not an int here), else None
    when absent or null; any other type is refused."""
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ClientError("invalid_type", f"'{name}' has the wrong type", name)
    return value


def required(event: Event, name: str, kind: type[T]) -> T:
    """`event[name]`, which must be present and of type `kind`."""
    value = optional(event, name, kind)
    if value is None:
        raise ClientError("missing_required_parameter", f"missing '{name}'", name)
    return value
