"""The engine and a test client joined in memory: the protocol and its responder, no socket.

Client frames are taken one at a time by a receive loop, as the server takes them off a socket,
so a frame that waits (a cancel, a transcription) holds back the next one just as it does there.
Every server event goes through JSON and is checked against the OpenAI SDK's types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.engine.responder import Responder, SpeechSource
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

    def __init__(self, responder: Responder, inbox: asyncio.Queue[Event]) -> None:
        self.responder = responder
        self.seen: list[Event] = []
        self._inbox = inbox
        self._frames: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._loop = asyncio.create_task(self._take_frames())

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
        inbox: asyncio.Queue[Event] = asyncio.Queue()

        async def send(event: Event) -> None:
            inbox.put_nowait(json.loads(json.dumps(event)))  # as the wire would carry it

        protocol = EngineProtocol(scenario, model)
        pair = cls(Responder(protocol, send, speech, pace=pace, lead_ms=lead_ms), inbox)
        await pair.responder.start()
        await pair.until("session.created")
        return pair

    async def _take_frames(self) -> None:
        while (frame := await self._frames.get()) is not None:
            await self.responder.receive(frame)

    async def send(self, event: Event | str | bytes) -> None:
        """A client event (or a raw frame); it never waits, as a socket send would not."""
        self._frames.put_nowait(event if isinstance(event, str | bytes) else json.dumps(event))

    async def next(self, timeout: float = 30) -> Event:
        """The next server event, checked."""
        event = asyncio.ensure_future(self._inbox.get())
        done, _ = await asyncio.wait(
            {event, self._loop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if event not in done:
            event.cancel()
            if self._loop in done:
                self._loop.result()  # the engine failed: raise what it raised
            raise TimeoutError(f"no server event within {timeout} s")
        got = event.result()
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
        self._frames.put_nowait(None)
        await self._loop
        await self.responder.close()
