"""The protocol's audio format and the small conversions around it."""

from __future__ import annotations

import math

import numpy as np
import soxr

from tutor_cli.realtime.events import RATE

FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
SILENCE_DBFS = -100.0


def _db(value: float) -> float:
    return max(SILENCE_DBFS, 20 * math.log10(value)) if value > 0 else SILENCE_DBFS


class FrameLevel:
    """The loudest level over a run of mic frames, for a meter that redraws a few times a
    second; `add` also gives each frame's linear RMS, which the echo gate needs."""

    def __init__(self) -> None:
        self.frames = 0
        self._rms = 0.0
        self._peak = 0.0

    def add(self, frame: bytes) -> float:
        """Take one frame of PCM16; returns its linear RMS (0-1)."""
        samples = np.frombuffer(frame, dtype="<i2")
        frame_rms = rms(samples)
        peak = float(np.max(np.abs(samples.astype(np.int32)))) / 32768.0 if samples.size else 0.0
        self._rms, self._peak = max(self._rms, frame_rms), max(self._peak, peak)
        self.frames += 1
        return frame_rms

    def take(self) -> tuple[float, float]:
        """The loudest RMS and peak (dBFS) since the last `take`; starts a new run."""
        level = (_db(self._rms), _db(self._peak))
        self.frames, self._rms, self._peak = 0, 0.0, 0.0
        return level


def rms(samples: np.ndarray) -> float:
    """Linear RMS (0-1) of int16 samples."""
    if samples.size == 0:
        return 0.0
    floats = samples.astype(np.float32)
    return math.sqrt(float(np.dot(floats, floats)) / samples.size) / 32768.0


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array."""
    if samples.ndim == 1:
        return samples
    mixed: np.ndarray = samples.mean(axis=1).astype(samples.dtype)
    return mixed


class ToProtocol:
    """Streams any-rate mono int16 audio to 24 kHz PCM16, cut into 20 ms frames.

    One soxr stream per source, so chunk boundaries never click; whole frames come out, the
    remainder waits for the next chunk.
    """

    def __init__(self, rate: int) -> None:
        self._resampler = (
            soxr.ResampleStream(rate, RATE, 1, dtype="int16") if rate != RATE else None
        )
        self._pending = np.zeros(0, dtype=np.int16)

    def frames(self, samples: np.ndarray, last: bool = False) -> list[bytes]:
        """The 20 ms frames now complete (with `last`, the rest padded with silence)."""
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples.astype(np.int16), last=last)
        pending = np.concatenate([self._pending, samples.astype(np.int16)])
        whole = len(pending) // FRAME_SAMPLES * FRAME_SAMPLES
        out = [pending[i : i + FRAME_SAMPLES].tobytes() for i in range(0, whole, FRAME_SAMPLES)]
        self._pending = pending[whole:]
        if last and self._pending.size:
            padded = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            padded[: self._pending.size] = self._pending
            out.append(padded.tobytes())
            self._pending = np.zeros(0, dtype=np.int16)
        return out
