"""Playback: a jitter buffer the output device reads from, counting what was really played.

The server sends audio faster than real time, so "how much the learner heard" is the number of
samples the device actually consumed for an item, not the time since the first delta. The
buffer keeps that count per item. Playback starts once `prebuffer_ms` is queued (or the reply's
audio is complete); if the queue runs dry while a reply is still streaming, silence fills the gap
and an underrun is counted. A barge-in fades the sound out over ~10 ms and drops the rest.

`read` runs on the device's thread (or the WAV clock); everything else on the event loop. A
short lock guards the queue: both sides only move references and small arrays under it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from tutor_cli.audio.pcm import rms
from tutor_cli.datatypes import datatype
from tutor_cli.realtime.events import SAMPLES_PER_MS

FADE_MS = 10


@datatype
class Interruption:
    """What a barge-in cut: the item that was playing and how much of it was heard."""

    item_id: str | None
    played_ms: float


class JitterBuffer:
    """Queued tutor audio, per item, with played-sample accounting."""

    def __init__(self, prebuffer_ms: int = 40, track_level: bool = False) -> None:
        self.prebuffer = prebuffer_ms * SAMPLES_PER_MS
        self.track_level = track_level  # the echo gate needs the playback level
        self._lock = threading.Lock()
        self._queue: deque[tuple[str, np.ndarray]] = deque()
        self._queued = 0  # samples not yet played (queue and current chunk)
        self._current: tuple[str, np.ndarray] | None = None
        self._offset = 0  # into the current chunk
        self._fade: tuple[str, np.ndarray] | None = None  # the faded tail of a barge-in
        self._playing = False
        self._streaming = False  # a reply's audio is still arriving
        self.played: dict[str, int] = {}  # samples the device consumed, per item
        self.received: dict[str, int] = {}
        self.last_item: str | None = None
        self.underruns = 0
        self.playback_rms = 0.0  # of the last block read, for the echo gate
        self.first_push_at: float | None = None
        self.first_sound_at: float | None = None
        self._silent_blocks: dict[int, np.ndarray] = {}
        # Called on the pushing thread before audio is queued (a clocked reader that sleeps
        # while the buffer is quiet catches up with the silence first).
        self.before_push: Callable[[], None] | None = None

    # --- the event loop's side ----------------------------------------------------------------

    def push(self, item_id: str, pcm: bytes) -> None:
        """Queue tutor audio (24 kHz mono PCM16)."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if samples.size == 0:
            return
        if self.before_push is not None:
            self.before_push()
        with self._lock:
            if self.first_push_at is None:
                self.first_push_at = time.perf_counter()
            self._queue.append((item_id, samples))
            self._queued += samples.size
            self._streaming = True
            self.received[item_id] = self.received.get(item_id, 0) + samples.size
            self.played.setdefault(item_id, 0)
            self.last_item = item_id

    def end_of_reply(self) -> None:
        """The reply's audio is complete: play what is left without waiting to prebuffer."""
        with self._lock:
            self._streaming = False

    def interrupt(self) -> Interruption:
        """Barge-in: fade out over ~10 ms, drop the rest; returns what the learner heard."""
        fade_len = FADE_MS * SAMPLES_PER_MS
        with self._lock:
            item = (
                self._current[0] if self._current else (self._queue[0][0] if self._queue else None)
            )
            tail = self._take(fade_len) if item is not None else np.zeros(0, dtype=np.int16)
            ramp = np.linspace(1.0, 0.0, tail.size, endpoint=False, dtype=np.float32)
            if item is not None and tail.size:
                self._fade = (item, (tail.astype(np.float32) * ramp).astype(np.int16))
            self._queue.clear()
            self._queued = 0
            self._current, self._offset = None, 0
            self._playing = self._streaming = False
            item = item or self.last_item
            heard = self.played.get(item, 0) + tail.size if item else 0
        return Interruption(item, heard / SAMPLES_PER_MS)

    def _quiet(self) -> bool:
        """Nothing queued, playing or fading (lock held): the usual state between replies,
        where every read is silence until audio is pushed."""
        return not (self._playing or self._fade or self._queued)

    @property
    def quiet(self) -> bool:
        """Every read gives silence until the next `push`."""
        with self._lock:
            return self._quiet()

    @property
    def idle(self) -> bool:
        """Nothing left to play."""
        return not self._queue and self._current is None and self._fade is None

    # --- the device's side --------------------------------------------------------------------

    def _take(self, wanted: int) -> np.ndarray:
        """Up to `wanted` samples off the queue (lock held); not counted as played."""
        parts, got = [], 0
        while got < wanted:
            if self._current is None:
                if not self._queue:
                    break
                self._current, self._offset = self._queue.popleft(), 0
            chunk = self._current[1]
            part = chunk[self._offset : self._offset + wanted - got]
            parts.append(part)
            got += part.size
            self._offset += part.size
            self._queued -= part.size
            if self._offset >= chunk.size:
                self._current = None
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def read(self, frames: int) -> np.ndarray:
        """The next `frames` samples for the device; silence where there is nothing to play."""
        with self._lock:
            fast = self._fast_read(frames)
            quiet = fast is None and self._quiet()
        if fast is not None:
            if self.track_level:
                self.playback_rms = rms(fast)
            return fast
        if quiet:
            self.playback_rms = 0.0
            return self._silence(frames)
        out = np.zeros(frames, dtype=np.int16)
        with self._lock:
            filled = 0
            if self._fade is not None:
                item, tail = self._fade
                n = min(frames, tail.size)
                out[:n] = tail[:n]
                self.played[item] = self.played.get(item, 0) + n
                self._fade = (item, tail[n:]) if n < tail.size else None
                filled = n
            if not self._playing:
                pending = self._queued  # samples not yet played, the current chunk's included
                if pending and (pending >= self.prebuffer or not self._streaming):
                    self._playing = True
            while self._playing and filled < frames:
                if self._current is None and not self._queue:
                    if self._streaming:
                        self.underruns += 1  # starved mid-reply: silence, then prebuffer again
                    self._playing = False
                    break
                if self._current is None:
                    self._current, self._offset = self._queue.popleft(), 0
                item, chunk = self._current
                n = min(frames - filled, chunk.size - self._offset)
                out[filled : filled + n] = chunk[self._offset : self._offset + n]
                self._offset += n
                self._queued -= n
                filled += n
                self.played[item] = self.played.get(item, 0) + n
                if self._offset >= chunk.size:
                    self._current = None
            if filled and self.first_sound_at is None:
                self.first_sound_at = time.perf_counter()
        if self.track_level:
            self.playback_rms = rms(out[:filled]) if filled else 0.0
        return out

    def _silence(self, frames: int) -> np.ndarray:
        """`frames` samples of silence, read-only, made once per block size."""
        block = self._silent_blocks.get(frames)
        if block is None:
            block = np.zeros(frames, dtype=np.int16)
            block.flags.writeable = False
            self._silent_blocks[frames] = block
        return block

    def _fast_read(self, frames: int) -> np.ndarray | None:
        """The common case, cheaply: playing, and the current chunk holds the whole block.
        Returns a view (the device copies it), or None for the general path."""
        current = self._current
        if not self._playing or self._fade is not None or current is None:
            return None
        item, chunk = current
        end = self._offset + frames
        if end > chunk.size:
            return None
        block = chunk[self._offset : end]
        self._offset = end
        self._queued -= frames
        self.played[item] += frames
        if end == chunk.size:
            self._current = None
        return block
