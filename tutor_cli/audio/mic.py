"""Where the learner's voice comes from: the microphone, or a WAV file played in real time.

Both yield mic frames (`pcm.FRAME_MS`) of 24 kHz PCM16 with the moment each was captured (for
the latency benchmark). The sound-card callback only copies the block and hands it to the event
loop; a bounded queue drops the oldest blocks if the loop falls behind, and counts them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import wave
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from tutor_cli.audio.devices import Device, open_stream
from tutor_cli.audio.pcm import FRAME_MS, FRAME_SAMPLES, ToProtocol, to_mono
from tutor_cli.errors import BadInput
from tutor_cli.realtime.events import RATE

Frame = tuple[bytes, float]  # a mic frame of 24 kHz PCM16, and when it was captured (perf_counter)


class SoundCardMic:
    """A PortAudio input stream at the device's own rate, converted to the protocol's format."""

    def __init__(self, device: Device, max_blocks: int = 50) -> None:
        self.device = device
        self.rate = int(device.default_rate) or RATE
        self._blocks: deque[tuple[np.ndarray, float]] = deque()
        self._max = max_blocks  # about a second of audio
        self._ready = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._stream: Any = None
        self.dropped = 0
        self.finished = asyncio.Event()  # never: a microphone does not run out

    def _callback(self, indata: Any, _frames: int, _time: Any, _status: Any) -> None:
        # The audio thread: copy and hand over, nothing else (no waits, no widgets).
        self._loop.call_soon_threadsafe(self._put, indata[:, 0].copy(), time.perf_counter())

    def _put(self, block: np.ndarray, at: float) -> None:
        if len(self._blocks) >= self._max:
            self._blocks.popleft()
            self.dropped += 1
        self._blocks.append((block, at))
        self._ready.set()

    async def start(self) -> None:
        self._stream = open_stream("input", self.device, self.rate, self._callback)

    async def frames(self) -> AsyncIterator[Frame]:
        convert = ToProtocol(self.rate)
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._blocks:
                block, at = self._blocks.popleft()
                for frame in convert.frames(block):
                    yield frame, at

    async def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the rate of a PCM WAV file (8/16/24/32-bit, any channels)."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (wave.Error, EOFError) as exc:
        raise BadInput(f"{path}: not a PCM WAV file ({exc})") from None
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2")
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        data = (((b[:, 2] << 24) | (b[:, 1] << 16) | (b[:, 0] << 8)) >> 16).astype(np.int16)
    elif width == 4:
        data = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise BadInput(f"{path}: {8 * width}-bit samples are not supported")
    samples = data.reshape(-1, channels) if channels > 1 else data
    return to_mono(samples).astype(np.int16), rate


class WavMic:
    """A WAV file as the microphone: streamed in real time (so turn-taking behaves as with a
    person) or as fast as it can be sent; after the file, silence, as a quiet room would give,
    in real time whatever the speed (the server's turn detection waits for silence by the
    clock, and silence sent faster only floods the socket, the log and the engine)."""

    def __init__(self, path: Path, realtime: bool = True) -> None:
        samples, rate = read_wav(path)
        self.frames_data = ToProtocol(rate).frames(samples, last=True)
        self.realtime = realtime
        self.dropped = 0
        self.finished = asyncio.Event()  # the whole file has been streamed

    async def start(self) -> None:
        return None

    async def frames(self) -> AsyncIterator[Frame]:
        started = time.monotonic()
        for sent, frame in enumerate(self.frames_data):
            if self.realtime:
                await _until(started + sent * FRAME_MS / 1000)
            else:
                await asyncio.sleep(0)
            yield frame, time.perf_counter()
        self.finished.set()
        silence = bytes(FRAME_SAMPLES * 2)
        # From the end of the file (in real time, where its last frame was due), a frame per
        # frame's length of the clock.
        if self.realtime:
            started += len(self.frames_data) * FRAME_MS / 1000
        else:
            started = time.monotonic()
        for sent in itertools.count():
            await _until(started + sent * FRAME_MS / 1000)
            yield silence, time.perf_counter()

    async def stop(self) -> None:
        return None


class NoMic:
    """No microphone (a speaker file on a machine without one): nothing is ever heard, and
    the learner types."""

    def __init__(self) -> None:
        self.dropped = 0
        self.finished = asyncio.Event()  # never: there is nothing to stream

    async def start(self) -> None:
        return None

    async def frames(self) -> AsyncIterator[Frame]:
        await asyncio.Event().wait()  # until the call stops streaming
        yield bytes(FRAME_SAMPLES * 2), time.perf_counter()  # never reached

    async def stop(self) -> None:
        return None


async def _until(moment: float) -> None:
    """Sleep until `moment` (monotonic clock); at once if it has passed."""
    wait = moment - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
