"""The turn detector's frame judgements against the plainest way to make them.

`TurnDetector.feed` runs 50 times a second for the whole of every voice call, so it is written
for speed; this reference makes each frame's judgement the obvious way, one frame at a time,
and the events must come out the same, at every threshold and however the audio is chunked.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soxr
import webrtcvad

from tests.engine.test_vad import THRESHOLDS, noise, pcm, silence, speech
from tutor_cli.engine.turns import TurnEvent
from tutor_cli.engine.vad import TurnDetector

_FRAME = 320  # 20 ms at 16 kHz


class ReferenceDetector(TurnDetector):
    """The same state machine, fed by frame judgements made one frame at a time."""

    def __init__(self, threshold: float, **params: int) -> None:
        super().__init__(threshold, **params)
        self._plain_vad = webrtcvad.Vad(min(3, int(4 * threshold)))
        self._floor = 10.0 ** ((-55.0 + 25.0 * threshold) / 10.0)
        self._stream = soxr.ResampleStream(24000, 16000, 1, dtype="float32", quality="MQ")
        self._bytes = b""
        self._resampled = np.zeros(0, dtype=np.float32)

    def feed(self, pcm24k: bytes) -> list[TurnEvent]:
        data = self._bytes + pcm24k
        usable = len(data) & ~1
        self._bytes = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
        self._samples_in += len(samples)
        self._resampled = np.concatenate((self._resampled, self._stream.resample_chunk(samples)))
        events: list[TurnEvent] = []
        while len(self._resampled) >= _FRAME:
            frame, self._resampled = self._resampled[:_FRAME], self._resampled[_FRAME:]
            loud = float(np.mean(np.square(frame, dtype=np.float64))) >= self._floor
            rounded = np.clip(np.round(frame * 32768.0), -32768, 32767).astype("<i2")
            said = self._plain_vad.is_speech(rounded.tobytes(), 16000)
            event = self._step(said and loud and self._frames_done >= 10)
            if event is not None:
                events.append(event)
            self._frames_done += 1
        return events


def _levels() -> bytes:
    """Speech and noise stepping through every threshold's energy floor (-55 to -30 dBFS), so
    many frames sit near one, with silences long enough to end turns in between."""
    parts = [silence(0.5)]
    for step, level in enumerate(range(-60, -24, 3)):
        parts += [speech(0.5, float(level), seed=step), silence(0.6, seed=20 + step)]
        parts += [noise(0.4, level + 0.5, seed=40 + step), silence(0.6, seed=60 + step)]
    return pcm(*parts)


def _events(detector: TurnDetector, audio: bytes, sizes: tuple[int, ...]) -> list[TurnEvent]:
    events: list[TurnEvent] = []
    offset = 0
    for size in itertools.cycle(sizes):
        if offset >= len(audio):
            return events
        events += detector.feed(audio[offset : offset + size])
        offset += size
    raise AssertionError("unreachable")


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_judgements_match_the_frame_by_frame_reference(threshold: float) -> None:
    audio = _levels()
    expected = _events(ReferenceDetector(threshold), audio, (960,))
    assert len(expected) >= 4  # the signal does reach past the floor
    for sizes in [(960,), (1, 961, 7, 4801, 1, 333), (9600,), (len(audio),)]:
        assert _events(TurnDetector(threshold), audio, sizes) == expected, sizes


def test_a_silent_start_mid_session_matches_the_reference() -> None:
    audio = pcm(silence(0.3), speech(0.8, -20.0, seed=7), silence(0.8))
    expected = _events(ReferenceDetector(0.5, start_ms=1234), audio, (960,))
    assert _events(TurnDetector(0.5, start_ms=1234), audio, (960,)) == expected
