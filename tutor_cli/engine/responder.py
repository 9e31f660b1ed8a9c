"""The engine's async half: carries out what the protocol asks, in order, in real time.

An `EngineProtocol` decides everything and does no I/O; a `Responder` wraps it for one
connection. It sends the protocol's events through an async `send`, streams each response in a
task of its own (speech sentence by sentence, in deltas of at most 100 ms, paced so a response
lasts long enough to be interrupted, as real ones do), runs speech recognition in a worker
thread, and stops everything on `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import assert_never

from tutor_cli.datatypes import datatype
from tutor_cli.engine.client_events import Event
from tutor_cli.engine.jobs import Cancel, Output, Respond, Transcribe
from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.engine.recognizer import can_transcribe, transcribe
from tutor_cli.engine.streaming import Message, Response
from tutor_cli.engine.tutor import CallTool, Say
from tutor_cli.realtime.events import BYTES_PER_MS

Send = Callable[[Event], Awaitable[None]]
# (text, language, speed) -> 24 kHz mono PCM16, in chunks as they are made.
SpeechSource = Callable[[str, str, float], AsyncGenerator[bytes, None]]

MAX_DELTA_MS = 100
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")
_WORD = re.compile(r"\S+\s*")
log = logging.getLogger("tutor.engine")


def espeak_speech(text: str, language: str, speed: float) -> AsyncGenerator[bytes, None]:
    """The engine's voice, off the event loop: espeak speaks in a thread of its own, taking
    turns with the other sessions' voices piece by piece, and each chunk reaches the loop as
    it is made."""
    # espeak and numpy load with the first spoken reply: a text-only session never needs them.
    from tutor_cli.engine.tts import Synthesizer

    return Synthesizer().stream(text, language, speed)


@datatype(frozen=False)
class _Stream:
    task: asyncio.Task[None]
    cancelled: asyncio.Event  # set by a cancel, so a paced wait ends at once


class Responder:
    """Carries out one connection's protocol outputs."""

    def __init__(
        self,
        protocol: EngineProtocol,
        send: Send,
        speech: SpeechSource = espeak_speech,
        *,
        pace: float = 4.0,
        lead_ms: int = 1000,
    ) -> None:
        """`pace`: how many times faster than real time speech is sent after the first
        `lead_ms` of each message (0: as fast as it is made)."""
        self.protocol = protocol
        self._send = send
        self._speech = speech
        self._pace = pace
        self._lead_ms = lead_ms
        self._streams: dict[Response, _Stream] = {}
        self._send_error: BaseException | None = None

    async def start(self) -> None:
        """Greet the client."""
        await self.carry_out(self.protocol.start())

    async def receive(self, frame: str | bytes) -> None:
        """One client frame, carried out before the next is taken."""
        await self.carry_out(self.protocol.receive(frame))

    async def carry_out(self, outputs: Iterable[Output]) -> None:
        """Send the events and do the jobs, strictly in order."""
        for output in outputs:
            match output:
                case dict():
                    await self._deliver([output])
                case Respond(response):
                    cancelled = asyncio.Event()
                    task = asyncio.create_task(self._stream(response, cancelled))
                    self._streams[response] = _Stream(task, cancelled)
                    task.add_done_callback(functools.partial(self._ended, response))
                case Cancel(response):
                    stream = self._streams.get(response)
                    if stream is not None:
                        stream.cancelled.set()
                        # Whatever comes next counts on this response being over, even if
                        # this caller is itself cancelled meanwhile.
                        await asyncio.shield(stream.task)
                case Transcribe(item_id, pcm, language):
                    transcript = None
                    if can_transcribe(language):
                        transcript = await asyncio.to_thread(transcribe, pcm)
                    await self.carry_out(self.protocol.transcribed(item_id, transcript))
                case _:
                    assert_never(output)

    async def close(self) -> None:
        """The client is gone: stop generating."""
        tasks = [stream.task for stream in self._streams.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            try:
                await self._send(event)
            except Exception as exc:
                self._send_error = exc
                raise

    def _ended(self, response: Response, task: asyncio.Task[None]) -> None:
        del self._streams[response]
        if task.cancelled() or (error := task.exception()) is None:
            return
        if error is self._send_error:
            log.debug("response %s stopped: the client is gone (%r)", response.id, error)
        else:
            log.error("response %s failed", response.id, exc_info=error)

    async def _stream(self, response: Response, cancelled: asyncio.Event) -> None:
        try:
            await self._deliver(self.protocol.response_started(response))
            for index, move in enumerate(response.moves):
                if response.cancel_reason:
                    break
                match move:
                    case Say(text):
                        await self._say(response, index, text, cancelled)
                    case CallTool():
                        await self._deliver(self.protocol.tool_call(response, index, move))
                    case _:
                        assert_never(move)
            await self._deliver(self.protocol.response_finished(response))
        except Exception as exc:
            if exc is self._send_error:
                raise  # the client is gone: there is no one to tell
            # The voice or a step broke down: the client still gets its response.done.
            log.error("response %s failed", response.id, exc_info=exc)
            await self._deliver(self.protocol.response_failed(response))
        finally:
            self.protocol.response_closed(response)

    async def _say(
        self, response: Response, index: int, text: str, cancelled: asyncio.Event
    ) -> None:
        message, events = self.protocol.open_message(response, index)
        await self._deliver(events)
        if message.spoken:
            await self._speak(message, text, cancelled)
        else:
            for word in _WORD.findall(text):
                if response.cancel_reason:
                    break
                await self._deliver(self.protocol.text_delta(message, word))
        await self._deliver(self.protocol.close_message(message))

    async def _speak(self, message: Message, text: str, cancelled: asyncio.Event) -> None:
        """Sentence by sentence: its transcript, then its audio in deltas of at most 100 ms."""
        language, speed = self.protocol.language, self.protocol.speech_speed
        started = time.monotonic()
        for sentence in _SENTENCE.split(text.strip()):
            if message.response.cancel_reason:
                break
            await self._deliver(self.protocol.transcript_delta(message, sentence))
            pending = bytearray()
            async with contextlib.aclosing(self._speech(sentence, language, speed)) as chunks:
                async for chunk in chunks:
                    pending += chunk
                    while len(pending) >= MAX_DELTA_MS * BYTES_PER_MS:
                        await self._audio_delta(message, pending, started, cancelled)
                        if message.response.cancel_reason:
                            return
            if pending:
                await self._audio_delta(message, pending, started, cancelled)

    async def _audio_delta(
        self, message: Message, pending: bytearray, started: float, cancelled: asyncio.Event
    ) -> None:
        size = min(len(pending), MAX_DELTA_MS * BYTES_PER_MS)
        chunk = bytes(pending[:size])
        del pending[:size]
        await self._deliver(self.protocol.audio_delta(message, chunk))
        if self._pace > 0:
            ahead_ms = message.audio_ms - self._lead_ms
            wait = started + ahead_ms / 1000 / self._pace - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cancelled.wait(), wait)
                return
        # A send rarely waits, and a piece of speech is many deltas: without this, one
        # session's burst would hold the loop while others' first deltas (and frames) wait.
        await asyncio.sleep(0)
