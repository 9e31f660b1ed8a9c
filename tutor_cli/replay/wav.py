"""The whole replayed session as one WAV file, written as the log streams."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput
from tutor_cli.realtime.events import RATE


@datatype(frozen=False)
class _Placed:
    """Where one tutor item's audio sits on the timeline, in samples."""

    start: int
    end: int
    cut: int | None = None  # a truncation: nothing of the item plays past this


class SessionWav:
    """The whole session as a 24 kHz mono PCM16 WAV, on the log's timeline, written as it goes.

    Tutor audio: an item starts at its first delta's time offset (or, if earlier tutor audio is
    still playing then, right after it), and its later deltas follow on without gaps, since
    the server sends faster than real time. A truncation cuts the item where the learner
    stopped hearing it. Recorded microphone audio is mixed in at its offsets, chunks that
    arrive close together joined up. Only a few seconds behind the latest offset are held in
    memory (the item that may still be truncated included); older samples are written out.
    Without offsets (bare logs) the audio is laid out back to back.
    """

    MARGIN = 2 * RATE  # kept behind "now": late learner frames land here
    JOIN = RATE // 4  # learner audio this close after the last chunk continues it
    FLUSH = 5 * RATE  # written in blocks of at least this

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise BadInput(f"--export-wav: {path}: cannot write: {exc.strerror or exc}") from None
        os.fchmod(fd, 0o600)  # it holds the conversation: owner only, as the logs are
        self._file = os.fdopen(fd, "wb")
        wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        self._wav: wave.Wave_write | None = wav
        self._base = 0  # timeline sample of index 0 in the tracks; everything before is written
        self._tutor = np.zeros(self.FLUSH * 2, dtype=np.int16)
        self._learner = np.zeros(self.FLUSH * 2, dtype=np.int16)
        self._items: dict[str, _Placed] = {}
        self._last: _Placed | None = None
        self._tutor_end = 0
        self._learner_end = 0
        self._end = 0  # the furthest sample placed
        self.samples = 0  # written so far

    @property
    def held(self) -> int:
        """Samples of room held in memory per track: a few seconds, however long the log."""
        return self._tutor.size

    def _now(self, at: float | None) -> int:
        if at is None:
            return max(self._tutor_end, self._learner_end)
        return round(at * RATE)

    def tutor(self, at: float | None, item_id: str, pcm: bytes) -> None:
        """A tutor audio delta received at offset `at`."""
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        now = self._now(at)
        item = self._items.get(item_id)
        if item is None:
            start = max(now, self._tutor_end)
            item = self._items[item_id] = _Placed(start, start)
            self._last = item
        count = samples.size
        if item.cut is not None:
            count = max(0, min(count, item.cut - item.end))
        self._put("_tutor", item.end, samples[:count])
        item.end += count
        self._tutor_end = max(self._tutor_end, item.end)
        self._advance(now)

    def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """The learner heard only `audio_end_ms` of the item: silence the rest."""
        item = self._items.get(item_id)
        if item is None:
            return
        cut = item.start + round(max(0, audio_end_ms) * RATE / 1000)
        item.cut = cut if item.cut is None else min(item.cut, cut)
        if item.cut < item.end:
            low = max(item.cut, self._base)
            if item.end > low:
                self._tutor[low - self._base : item.end - self._base] = 0
            if self._tutor_end == item.end:
                self._tutor_end = item.cut
            item.end = item.cut

    def learner(self, at: float | None, pcm: bytes) -> None:
        """Recorded microphone audio sent at offset `at`."""
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        now = self._now(at)
        position = self._learner_end if now <= self._learner_end + self.JOIN else now
        self._put("_learner", position, samples)
        self._learner_end = max(position, self._base) + samples.size
        self._advance(now)

    def _put(self, track: str, position: int, samples: np.ndarray) -> None:
        if position < self._base:  # already written: only what is still ahead can go in
            samples = samples[self._base - position :]
            position = self._base
        if not samples.size:
            return
        end = position + samples.size
        if end - self._base > self._tutor.size:
            size = max(end - self._base, self._tutor.size * 2)
            for name in ("_tutor", "_learner"):
                grown = np.zeros(size, dtype=np.int16)
                old = getattr(self, name)
                grown[: old.size] = old
                setattr(self, name, grown)
        getattr(self, track)[position - self._base : end - self._base] = samples
        self._end = max(self._end, end)

    def _advance(self, now: int) -> None:
        mark = now - self.MARGIN
        last = self._last
        if last is not None and last.end + self.MARGIN > now:
            mark = min(mark, last.start)  # the item playing now may still be truncated
        if mark - self._base >= self.FLUSH:
            self._flush(mark)

    def _flush(self, upto: int) -> None:
        assert self._wav is not None
        count = upto - self._base
        held = min(count, self._tutor.size)
        mixed = self._tutor[:held].astype(np.int32) + self._learner[:held]
        self._wav.writeframesraw(np.clip(mixed, -32768, 32767).astype("<i2").tobytes())
        silence = bytes(2 * RATE)
        for offset in range(held, count, RATE):  # a long stretch with nothing held: silence
            self._wav.writeframesraw(silence[: 2 * min(RATE, count - offset)])
        for track in (self._tutor, self._learner):
            if held < track.size:
                track[: track.size - held] = track[held:]
            track[track.size - held :] = 0
        self._base = upto
        self.samples += count

    def close(self, end_at: float | None = None) -> float:
        """Write what is left, up to `end_at` seconds at least; returns the file's duration."""
        if self._wav is not None:
            end = max(self._end, round(end_at * RATE) if end_at else 0, self._base)
            self._flush(end)
            self._wav.close()
            self._file.close()
            self._wav = None
        return self.samples / RATE
