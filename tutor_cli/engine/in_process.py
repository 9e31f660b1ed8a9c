"""The offline engine joined to a call in memory: the engine a call starts for itself runs in the
call's process, so no frame is masked, written to a socket, read and unmasked again, and no
websocket code is loaded.

Frames stay JSON text both ways, so the engine parses (and refuses) what the client sends and
the client reads what the engine says exactly as over a socket. The engine takes the client's
frames one at a time, as its server takes them off a socket: a frame that waits (a cancel, a
transcription) holds back the next. `tutor serve` is the same engine behind a websocket.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.engine.responder import Responder, SpeechSource, espeak_speech
from tutor_cli.lesson.scenario import Scenario
from tutor_cli.realtime.connection import Socket

NORMAL_CLOSE = 1000
# As a websocket server closes a socket whose handler failed: the client may reconnect.
ENGINE_FAILED = 1011
REASON_CHARACTERS = 120  # a websocket close reason holds 123 bytes
log = logging.getLogger("tutor.engine")


class LinkClosed(Exception):
    """A frame for an in-memory link that has closed."""


class InProcessEngine:
    """The built-in engine for one call: each `open` is a new session, as each socket to the
    engine's server is (a reconnect after a fault starts afresh, and the call restores it)."""

    lost: tuple[type[Exception], ...] = (LinkClosed,)

    def __init__(
        self,
        scenario: Scenario | None,
        *,
        model: str = "offline",
        pace: float = 4.0,
        speech: SpeechSource = espeak_speech,
        lead_ms: int = 1000,
    ) -> None:
        """`pace` and `lead_ms` as the Responder takes them."""
        self.scenario = scenario
        self.model = model
        self.pace = pace
        self.speech = speech
        self.lead_ms = lead_ms

    def describe(self) -> str:
        """Where the engine is, for the learner and the log."""
        return f"offline (in this process, model {self.model})"

    async def open(self, url: str) -> tuple[Socket, Mapping[str, str]]:
        """A new session, greeted; `url` is not needed (nothing is routed)."""
        protocol = EngineProtocol(self.scenario, self.model)
        socket = InMemorySocket(protocol, self.speech, pace=self.pace, lead_ms=self.lead_ms)
        await socket.start()
        return socket, {}

    def close_of(self, lost: Exception) -> tuple[int, str]:
        """Never needed: an in-memory link always ends with its close code."""
        return ENGINE_FAILED, str(lost)


class InMemorySocket:
    """One engine session and the client's end of it."""

    def __init__(
        self, protocol: EngineProtocol, speech: SpeechSource, *, pace: float, lead_ms: int
    ) -> None:
        self.responder = Responder(protocol, self._engine_sends, speech, pace=pace, lead_ms=lead_ms)
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._to_engine: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._to_client: asyncio.Queue[str | None] = asyncio.Queue()  # None: closed
        self._engine: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """The engine greets the client and starts taking its frames."""
        await self.responder.start()
        self._engine = asyncio.create_task(self._take_frames())

    async def _engine_sends(self, event: dict[str, Any]) -> None:
        if self.close_code is not None:
            raise LinkClosed("the client hung up")  # the responder stops, as on a socket
        self._to_client.put_nowait(json.dumps(event, ensure_ascii=False))

    async def _take_frames(self) -> None:
        try:
            while True:
                await self.responder.receive(await self._to_engine.get())
        except LinkClosed:
            pass  # the client hung up mid-frame: there is no one to tell
        except Exception as exc:
            # Kept out of the terminal (the call says the close reason in one line); the
            # whole story is for whoever turns the engine's logging on.
            log.debug("the engine session failed", exc_info=exc)
            reason = f"the engine failed: {type(exc).__name__}: {exc}"
            self._end(ENGINE_FAILED, reason[:REASON_CHARACTERS])
            await self.responder.close()

    def _end(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._to_client.put_nowait(None)

    async def send(self, message: str | bytes) -> None:
        """A client frame; it never waits, as a socket send would not."""
        if self.close_code is not None:
            raise LinkClosed(f"closed with {self.close_code}")
        self._to_engine.put_nowait(message)

    async def close(self) -> None:
        """The client hangs up (1000): the engine stops whatever it was doing; what it had
        sent before is still read."""
        self._end(NORMAL_CLOSE, "")
        if self._engine is not None:
            self._engine.cancel()
            await asyncio.wait({self._engine})
        await self.responder.close()

    def __aiter__(self) -> InMemorySocket:
        return self

    async def __anext__(self) -> str:
        frame = await self._to_client.get()
        if frame is None:
            self._to_client.put_nowait(None)  # ended for any later reader too
            raise StopAsyncIteration
        return frame
