"""Test clients for the offline engine, and what the tests read from its events.

`Probe` talks to a real server over a loopback socket; `tests.engine.pair.EnginePair` talks to
the protocol and responder in memory. Both check every server event against the OpenAI SDK's
types and have the same `send` / `next` / `until` / `seen`, so the helpers here take either.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, Literal, Protocol

from websockets.asyncio.client import ClientConnection, connect

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import SessionOptions, session_config
from tutor_cli.realtime import events

Event = dict[str, Any]


class Client(Protocol):
    """What the engine tests need of a client, socket or not."""

    seen: list[Event]

    async def send(self, event: Event | str) -> None: ...

    async def until(self, *types: str, timeout: float = 30) -> list[Event]: ...


class Probe:
    """A client on a real websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Event] = []

    @classmethod
    async def open(cls, engine: OfflineEngine, query: str = "", **kwargs: Any) -> Probe:
        ws = await connect(f"{engine.url}{query}", max_size=None, **kwargs)
        probe = cls(ws)
        await probe.until("session.created")
        return probe

    async def send(self, event: Event | str) -> None:
        await self.ws.send(event if isinstance(event, str) else json.dumps(event))

    async def next(self, timeout: float = 30) -> Event:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert_server_event(event)  # zero invalid events, whatever the test is about
        self.seen.append(event)
        return event

    async def until(self, *types: str, timeout: float = 30) -> list[Event]:
        """Events up to and including the first of `types`."""
        got = []
        while True:
            event = await self.next(timeout)
            got.append(event)
            if event["type"] in types:
                return got

    async def close(self) -> None:
        await self.ws.close()


async def configure(client: Client, scenario_id: str, modality: Literal["audio", "text"]) -> None:
    """Set the session up as a lesson call does, and wait until the engine took it."""
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    options = SessionOptions(output_modalities=modality)
    await client.send(events.session_update(session_config(scenario, options)))
    await client.until("session.updated")


async def say(client: Client, text: str) -> list[Event]:
    """A typed learner turn and the reply to it."""
    await client.send(events.user_text(text))
    await client.send(events.response_create())
    return await client.until("response.done")


async def answer_tools(client: Client, got: list[Event], outputs: dict[str, str]) -> list[Event]:
    """Answer the tool calls in `got`, and the reply to the answers."""
    for call in tool_calls(got):
        await client.send(events.function_call_output(call["call_id"], outputs[call["name"]]))
    await client.send(events.response_create())
    return await client.until("response.done")


def of_type(events: list[Event], type_: str) -> list[Event]:
    return [e for e in events if e["type"] == type_]


def reply_text(events: list[Event]) -> str:
    done = of_type(events, "response.output_audio_transcript.done") + of_type(
        events, "response.output_text.done"
    )
    return " ".join(e.get("transcript") or e.get("text") or "" for e in done)


def audio_of(events: list[Event]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in of_type(events, "response.output_audio.delta")
    )


def tool_calls(events: list[Event]) -> list[Event]:
    return of_type(events, "response.function_call_arguments.done")
