"""A test client for the offline engine: sends client events, checks every server event
against the OpenAI SDK's types, and waits for the ones a test cares about."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.conformance import assert_server_event
from tutor_cli.engine.server import OfflineEngine


class Probe:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, engine: OfflineEngine, query: str = "", **kwargs: Any) -> Probe:
        ws = await connect(f"{engine.url}{query}", max_size=None, **kwargs)
        probe = cls(ws)
        await probe.until("session.created")
        return probe

    async def send(self, event: dict[str, Any] | str) -> None:
        await self.ws.send(event if isinstance(event, str) else json.dumps(event))

    async def next(self, timeout: float = 30) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert_server_event(event)  # zero invalid events, whatever the test is about
        self.seen.append(event)
        return event

    async def until(self, *types: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Events up to and including the first of `types`."""
        got = []
        while True:
            event = await self.next(timeout)
            got.append(event)
            if event["type"] in types:
                return got

    async def close(self) -> None:
        await self.ws.close()


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def reply_text(events: list[dict[str, Any]]) -> str:
    done = of_type(events, "response.output_audio_transcript.done") + of_type(
        events, "response.output_text.done"
    )
    return " ".join(e.get("transcript") or e.get("text") or "" for e in done)


def audio_of(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        base64.b64decode(e["delta"]) for e in of_type(events, "response.output_audio.delta")
    )


def tool_calls(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_type(events, "response.function_call_arguments.done")
