"""Where the tutor's voice goes: the sound card, or a WAV file on a real-time clock."""

from __future__ import annotations

import asyncio
import os
import time
import wave
from pathlib import Path
from typing import Any

from tutor_cli.audio.devices import AudioUnavailable, Device, open_stream
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.pcm import BLOCK_SAMPLES
from tutor_cli.realtime.events import RATE

BLOCK_S = BLOCK_SAMPLES / RATE


class SoundCardSpeaker:
    """A PortAudio output stream whose callback reads the jitter buffer."""

    def __init__(self, buffer: JitterBuffer, device: Device) -> None:
        self.buffer = buffer
        self.device = device
        self._stream: Any = None

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        outdata[:, 0] = self.buffer.read(frames)

    async def start(self) -> None:
        self._stream = open_stream("output", self.device, RATE, self._callback)

    async def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


class WavSpeaker:
    """Writes exactly what a sound card would have played, silence included, to a WAV file.

    A clock task reads one 20 ms block per 20 ms of wall time (catching up after a late wake),
    so the file's timeline is the call's timeline. While the buffer is quiet (between replies)
    every block is silence until audio is pushed, so the clock sleeps up to `QUIET_S` at a
    time; a push first writes the silence due so far and wakes it. Blocks reach the file every
    `WRITE_BLOCKS` (and at the end), each write leaving a complete WAV header. With no `path`
    nothing is written, but the tutor's voice is still played out on that clock (a mic file
    with no speaker), so replies end and interruptions are measured as with a sound card.
    """

    WRITE_BLOCKS = 25  # half a second: one write and header update instead of twenty-five
    QUIET_S = 0.5

    def __init__(self, buffer: JitterBuffer, path: Path | None) -> None:
        self.buffer = buffer
        self.path = path
        self._task: asyncio.Task[None] | None = None
        self._wav: wave.Wave_write | None = None
        self._file: Any = None
        self._unwritten = bytearray()
        self._started = 0.0
        self._wake: asyncio.Future[None] | None = None  # the clock's sleep, while it sleeps
        self.blocks = 0

    async def start(self) -> None:
        if self.path is None:
            self._task = asyncio.create_task(self._clock())
            return
        try:
            # The tutor's voice is part of the conversation: readable by its owner only.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            # The mode above is for a new file only: one already there keeps its own.
            os.fchmod(fd, 0o600)
            self._file = os.fdopen(fd, "wb")  # closed in stop(); wave leaves it open
            self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in stop()
        except OSError as exc:
            raise AudioUnavailable(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)
        self._task = asyncio.create_task(self._clock())

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = time.monotonic()
        self.buffer.before_push = self._catch_up
        while True:
            self._catch_up()
            delay = self._started + self.blocks * BLOCK_S - time.monotonic()
            if self.buffer.quiet:
                delay = max(delay, self.QUIET_S)
            self._wake = wake = loop.create_future()
            timer = loop.call_later(delay, _done, wake)
            try:
                await wake
            finally:
                timer.cancel()
                self._wake = None

    def _catch_up(self) -> None:
        """Read every block due by now; wake the clock if it sleeps (audio is coming)."""
        due = int((time.monotonic() - self._started) / BLOCK_S) + 1
        while self.blocks < due:
            block = self.buffer.read(BLOCK_SAMPLES)
            self.blocks += 1
            if self._wav is None:
                continue  # played out to nobody
            self._unwritten += block.data
            if self.blocks % self.WRITE_BLOCKS == 0:
                self._write()
        if self._wake is not None:
            _done(self._wake)

    def _write(self) -> None:
        assert self._wav is not None
        self._wav.writeframes(self._unwritten)
        self._unwritten.clear()

    async def stop(self) -> None:
        if self._task is not None:
            self.buffer.before_push = None
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._wav is not None:
            self._write()
            self._wav.close()
            self._file.close()
            self._wav = None


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ReplaySpeaker:
    """The sound card for `tutor replay`: the replay pushes tutor audio as the log goes and
    says when a reply is complete. Recorded learner audio is not played back."""

    def __init__(self, device: Device, skip_item: str) -> None:
        self.buffer = JitterBuffer()
        self._skip = skip_item
        self._stream = open_stream("output", device, RATE, self._callback)

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        outdata[:, 0] = self.buffer.read(frames)

    def push(self, item_id: str, pcm: bytes) -> None:
        if item_id != self._skip:
            self.buffer.push(item_id, pcm)

    def flush(self) -> None:
        self.buffer.end_of_reply()

    def close(self) -> None:
        """Let what is queued play out (a few seconds at most), then close the stream."""
        for _ in range(100):
            if self.buffer.idle:
                break
            time.sleep(0.05)
        self._stream.stop()
        self._stream.close()
