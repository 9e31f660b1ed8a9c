"""The OpenAI SDK's pydantic types as our conformance oracle (see REALTIME.md)."""

from __future__ import annotations

import typing
from typing import Annotated, Any

import openai.types.realtime as rt
from pydantic import Field, TypeAdapter

server_event = TypeAdapter(
    Annotated[typing.get_args(rt.RealtimeServerEvent)[0], Field(discriminator="type")]
)
client_event = TypeAdapter(
    Annotated[typing.get_args(rt.RealtimeClientEvent)[0], Field(discriminator="type")]
)


def assert_client_event(event: dict[str, Any]) -> None:
    """Fail with the SDK's own message unless `event` is a valid GA client event."""
    client_event.validate_python(event)


def assert_server_event(event: dict[str, Any]) -> None:
    """Fail with the SDK's own message unless `event` is a valid GA server event."""
    server_event.validate_python(event)
