"""The protocol's audio format and the small conversions around it."""

from __future__ import annotations

import math

import numpy as np
import soxr

RATE = 24000  # the Realtime protocol's PCM16 rate
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
SAMPLES_PER_MS = RATE // 1000
SILENCE_DBFS = -100.0


def level_dbfs(samples: np.ndarray) -> tuple[float, float]:
    """RMS and peak of int16 samples, in dBFS (-100 for silence)."""
    if samples.size == 0:
        return SILENCE_DBFS, SILENCE_DBFS
    floats = samples.astype(np.float32) / 32768.0
    rms = float(np.sqrt(np.mean(floats * floats)))
    peak = float(np.max(np.abs(floats)))

    def db(value: float) -> float:
        return max(SILENCE_DBFS, 20 * math.log10(value)) if value > 0 else SILENCE_DBFS

    return db(rms), db(peak)


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
    return samples.mean(axis=1).astype(samples.dtype)


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
