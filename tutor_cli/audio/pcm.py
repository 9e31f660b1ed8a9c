"""The protocol's audio format and the small conversions around it."""

from __future__ import annotations

import math

import numpy as np
import soxr

from tutor_cli.realtime.events import RATE

# A mic frame, one append: the top of the 20-40 ms the API's server VAD is responsive with.
# Twice the sound card's 20 ms block, so an idle call handles half the events (each costs the
# client and an in-process engine a JSON text, a log line and a turn check), for at most 20 ms
# more before the server hears speech.
FRAME_MS = 40
FRAME_SAMPLES = RATE * FRAME_MS // 1000
# What the speaker plays at a time: small, so the tutor's voice starts and stops promptly.
BLOCK_MS = 20
BLOCK_SAMPLES = RATE * BLOCK_MS // 1000
SILENCE_DBFS = -100.0


def _db(value: float) -> float:
    return max(SILENCE_DBFS, 20 * math.log10(value)) if value > 0 else SILENCE_DBFS


class FrameLevel:
    """The loudest level over a run of mic frames, for a meter that redraws a few times a
    second. Frames are only collected as they come (25 a second) and measured together when
    the meter asks: one pass over the run instead of one per frame."""

    def __init__(self) -> None:
        self._frames: list[bytes] = []

    @property
    def frames(self) -> int:
        """Frames collected since the last `take`."""
        return len(self._frames)

    def add(self, frame: bytes) -> None:
        """Collect one frame of PCM16."""
        self._frames.append(frame)

    def take(self) -> tuple[float, float]:
        """The loudest frame's RMS and the peak (dBFS) since the last `take`; starts a new
        run."""
        frames, self._frames = self._frames, []
        samples = np.frombuffer(b"".join(frames), dtype="<i2")
        if not samples.size:
            return SILENCE_DBFS, SILENCE_DBFS
        if len({len(frame) for frame in frames}) == 1 and samples.size % len(frames) == 0:
            rows = samples.reshape(len(frames), -1).astype(np.float32)
            loudest = math.sqrt(float(np.einsum("ij,ij->i", rows, rows).max()) / rows.shape[1])
        else:  # frames of different sizes: one at a time
            loudest = max(rms(np.frombuffer(frame, dtype="<i2")) for frame in frames) * 32768.0
        peak = max(int(samples.max()), -int(samples.min()))
        return _db(loudest / 32768.0), _db(peak / 32768.0)


def frame_rms(frame: bytes) -> float:
    """Linear RMS (0-1) of one frame of PCM16."""
    return rms(np.frombuffer(frame, dtype="<i2"))


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
    """Streams any-rate mono int16 audio to 24 kHz PCM16, cut into mic frames (`FRAME_MS`).

    One soxr stream per source, so chunk boundaries never click; whole frames come out, the
    remainder waits for the next chunk.
    """

    def __init__(self, rate: int) -> None:
        self._resampler = (
            soxr.ResampleStream(rate, RATE, 1, dtype="int16") if rate != RATE else None
        )
        self._pending = np.zeros(0, dtype=np.int16)

    def frames(self, samples: np.ndarray, last: bool = False) -> list[bytes]:
        """The frames now complete (with `last`, the rest padded with silence)."""
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
