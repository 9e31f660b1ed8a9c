"""The engine and a test client joined in memory, as a call is joined to its built-in engine
(`tutor_cli.engine.in_process`): the protocol and its responder, no socket.

Client frames are taken one at a time, as the server takes them off a socket, so a frame that
waits (a cancel, a transcription) holds back the next one just as it does there. Every server
event comes as JSON text and is checked against the OpenAI SDK's types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tutor_cli.engine.in_process import InMemorySocket, InProcessEngine
from tutor_cli.engine.responder import SpeechSource
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.realtime.events import BYTES_PER_MS, RATE

Event = dict[str, Any]

TONE_MS_PER_CHARACTER = 50


async def tone_speech(text: str, language: str, speed: float) -> AsyncGenerator[bytes, None]:
    """A stand-in voice: a quiet tone, 50 ms a character at speed 1, in 30 ms chunks (so the
    responder has to gather them into deltas)."""
    samples = round(len(text) * TONE_MS_PER_CHARACTER / speed) * RATE // 1000
    tone = 3000 * np.sin(2 * np.pi * 220 * np.arange(samples) / RATE)
    pcm = tone.astype("<i2").tobytes()
    step = 30 * BYTES_PER_MS
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]


class EnginePair:
    """A test client wired to an engine in memory."""

    def __init__(self, socket: InMemorySocket) -> None:
        self.socket = socket
        self.seen: list[Event] = []
        self._frames = aiter(socket)

    @classmethod
    async def open(
        cls,
        scenario_id: str | None = None,
        *,
        speech: SpeechSource = tone_speech,
        pace: float = 0.0,
        lead_ms: int = 1000,
        model: str = "gpt-realtime",
    ) -> EnginePair:
        """A new session, greeted (`session.created` is in `seen`)."""
        scenario = load_scenario(SCENARIOS / f"{scenario_id}.json") if scenario_id else None
        engine = InProcessEngine(scenario, model=model, pace=pace, speech=speech, lead_ms=lead_ms)
        socket, _ = await engine.open("")
        assert isinstance(socket, InMemorySocket)
        pair = cls(socket)
        await pair.until("session.created")
        return pair

    async def send(self, event: Event | str | bytes) -> None:
        """A client event (or a raw frame); it never waits, as a socket send would not."""
        await self.socket.send(event if isinstance(event, str | bytes) else json.dumps(event))

    async def next(self, timeout: float = 30) -> Event:
        """The next server event, checked."""
        try:
            frame = await asyncio.wait_for(anext(self._frames), timeout)
        except TimeoutError:
            raise TimeoutError(f"no server event within {timeout} s") from None
        except StopAsyncIteration:
            closed = f"{self.socket.close_code} {self.socket.close_reason}"
            raise AssertionError(f"the engine closed the session: {closed}") from None
        got: Event = json.loads(frame)
        assert_server_event(got)  # zero invalid events, whatever the test is about
        self.seen.append(got)
        return got

    async def until(self, *types: str, timeout: float = 30) -> list[Event]:
        """Events up to and including the first of `types`."""
        got = []
        while True:
            event = await self.next(timeout)
            got.append(event)
            if event["type"] in types:
                return got

    async def close(self) -> None:
        """The client hangs up: the engine stops whatever it was doing."""
        await self.socket.close()
