"""The offline engine's ears: `server_vad` turn detection on the learner's input audio.

Audio arrives as the protocol's 24 kHz mono PCM16 in whatever chunks the client appended. It is
resampled to 16 kHz (webrtcvad takes 8/16/32/48 kHz only) and cut into 20 ms frames; each frame is
judged voiced or not by webrtcvad plus an energy floor, and a small state machine turns the run
of judgements into `SpeechStarted` / `SpeechStopped` events with the Realtime API's timestamps.

How `threshold` (0.0-1.0, higher = needs clearer, louder speech) is applied, three ways at once,
each one stricter as the threshold grows, so a higher threshold is never more sensitive:

    threshold        0.0   0.25  0.5   0.75  1.0
    webrtcvad mode   0     1     2     3     3      min(3, int(4 * threshold))
    energy floor     -55   -49   -42.5 -36   -30    dBFS frame RMS, -55 + 25 * threshold
    onset frames     3     4     5     6     7      voiced frames needed among the last 8

webrtcvad alone flags any broadband sound as speech (a fan, a hiss), whatever its level, so the
energy floor is what keeps a quiet room quiet; the onset count is what ignores clicks and coughs.

Timestamps count from the session's first appended sample, as the API's `audio_start_ms` and
`audio_end_ms` do (a detector set up mid-session is told where it starts); frames are 20 ms,
so events are placed to within a frame. The pure class does no I/O and holds a few kilobytes,
so one per session is cheap.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import soxr
import webrtcvad

from tutor_cli.engine.turns import SpeechStarted, SpeechStopped, TurnEvent
from tutor_cli.realtime.events import RATE

_VAD_RATE = 16000
FRAME_MS = 20
_FRAME_SAMPLES = _VAD_RATE * FRAME_MS // 1000
_ONSET_WINDOW = 8  # frames (160 ms) over which the onset count is taken
# webrtcvad's noise model starts empty and its first ~100 ms of any non-silent input come out as
# speech; those frames still train the model but cannot start a turn. A learner speaking in the
# first 200 ms of a session loses nothing: the prefix padding reaches back to the start.
_WARMUP_FRAMES = 10
# soxr's medium-quality filter delays its output by ~12 ms; rounded up generously.
_RESAMPLER_DELAY_MS = 40


class TurnDetector:
    """Voice-activity turn detection over one session's input audio, fed incrementally."""

    def __init__(
        self,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 500,
        start_ms: int = 0,
    ) -> None:
        """Set up with the `server_vad` parameters, listening from `start_ms` of the session;
        raises ValueError when one is out of range."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be between 0.0 and 1.0, not {threshold}")
        if prefix_padding_ms < 0 or silence_duration_ms < 0:
            raise ValueError("prefix_padding_ms and silence_duration_ms must not be negative")
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self._start_ms = start_ms

        self._vad = webrtcvad.Vad(min(3, int(4 * threshold)))
        floor_dbfs = -55.0 + 25.0 * threshold
        # Compared with a frame's mean square in full-scale units, so no log per frame.
        self._energy_floor = 10.0 ** (floor_dbfs / 10.0)
        self._onset_frames = 3 + math.floor(4 * threshold + 0.5)
        # A turn ends at the first frame completing the silence; 0 ms still needs one silent frame.
        self._silence_frames = max(1, math.ceil(silence_duration_ms / FRAME_MS))

        # float32, not int16: soxr dithers integer output, which would make the frames (and so
        # the events) depend on how the client happened to chunk its appends.
        self._resampler = soxr.ResampleStream(RATE, _VAD_RATE, 1, dtype="float32", quality="MQ")
        self._carry = b""  # an odd trailing byte: half a sample, completed by the next chunk
        self._samples_in = 0
        self._pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples short of a whole frame
        self._frames_done = 0

        self._recent: deque[bool] = deque(maxlen=_ONSET_WINDOW)
        self._speaking = False
        self._silent_run = 0
        self._earliest_start_ms = start_ms

    @property
    def position_ms(self) -> int:
        """Where the input audio fed so far ends, in ms since the session's first sample."""
        return self._start_ms + self._samples_in * 1000 // RATE

    @property
    def reach_ms(self) -> int:
        """How far before `position_ms` the next turn can start: its prefix padding, the onset
        window the start is found in, a frame being assembled and the resampler's delay. Audio
        older than that, while nobody speaks, can never become part of a turn."""
        return self.prefix_padding_ms + (_ONSET_WINDOW + 1) * FRAME_MS + _RESAMPLER_DELAY_MS

    @property
    def speaking(self) -> bool:
        """Whether a turn has started and not yet stopped."""
        return self._speaking

    def reset(self) -> None:
        """Forget the turn in progress (the input buffer was cleared or committed).

        No event is pending afterwards, and the next turn cannot start before this point. The
        stream itself carries on: positions keep counting and the resampler keeps its history.
        """
        self._recent.clear()
        self._speaking = False
        self._silent_run = 0
        self._earliest_start_ms = max(self._earliest_start_ms, self.position_ms)

    def feed(self, pcm24k: bytes) -> list[TurnEvent]:
        """Take newly appended 24 kHz PCM16 audio; return the events it caused, in order.

        Any chunk size works, odd byte counts included, and the events do not depend on how the
        stream was chunked. Events trail the audio by up to about a frame plus the resampler's
        ~12 ms delay.
        """
        data = self._carry + pcm24k if self._carry else pcm24k
        usable = len(data) & ~1
        self._carry = data[usable:]
        if not usable:
            return []
        samples = np.frombuffer(data, dtype="<i2", count=usable // 2).astype(np.float32)
        samples *= 1.0 / 32768.0  # a power of two: exactly the division, in place
        self._samples_in += len(samples)
        resampled = self._resampler.resample_chunk(samples)
        pending = np.concatenate((self._pending, resampled)) if len(self._pending) else resampled
        count = len(pending) // _FRAME_SAMPLES
        self._pending = pending[count * _FRAME_SAMPLES :].copy()
        if not count:
            return []
        # A call feeds two frames at a time, 25 times a second for as long as it lasts: they are
        # judged with bare ufuncs (np.mean and np.clip add microseconds of Python each) and
        # their results turned into Python values once, for the loop.
        frames = pending[: count * _FRAME_SAMPLES].reshape(count, _FRAME_SAMPLES)
        power = np.add.reduce(np.square(frames, dtype=np.float64), axis=1)
        power /= _FRAME_SAMPLES
        loud: list[bool] = (power >= self._energy_floor).tolist()
        scaled = np.multiply(frames, 32768.0)
        np.rint(scaled, out=scaled)
        np.minimum(scaled, 32767, out=scaled)
        np.maximum(scaled, -32768, out=scaled)
        pcm16 = scaled.astype("<i2").tobytes()
        events: list[TurnEvent] = []
        frame_bytes = 2 * _FRAME_SAMPLES
        for index, is_loud in enumerate(loud):
            # Every frame goes through webrtcvad, loud or not, so its noise model evolves the
            # same way at every threshold.
            frame = pcm16[index * frame_bytes : (index + 1) * frame_bytes]
            said = self._vad.is_speech(frame, _VAD_RATE)
            voiced = said and is_loud and self._frames_done >= _WARMUP_FRAMES
            event = self._step(voiced)
            if event is not None:
                events.append(event)
            self._frames_done += 1
        return events

    def _step(self, voiced: bool) -> TurnEvent | None:
        """Advance the turn state by the frame numbered `self._frames_done`."""
        frame_end_ms = self._start_ms + (self._frames_done + 1) * FRAME_MS
        if not self._speaking:
            self._recent.append(voiced)
            if not voiced or sum(self._recent) < self._onset_frames:
                return None
            first_voiced = self._frames_done - len(self._recent) + 1 + self._recent.index(True)
            onset_ms = self._start_ms + first_voiced * FRAME_MS
            start_ms = max(onset_ms - self.prefix_padding_ms, self._earliest_start_ms)
            self._speaking = True
            self._silent_run = 0
            self._recent.clear()
            return SpeechStarted(audio_start_ms=start_ms)
        if voiced:
            self._silent_run = 0
            return None
        self._silent_run += 1
        if self._silent_run < self._silence_frames:
            return None
        self._speaking = False
        self._silent_run = 0
        # The engine commits the input buffer up to here, so the next turn starts after it.
        self._earliest_start_ms = frame_end_ms
        return SpeechStopped(audio_end_ms=frame_end_ms)
