"""The learner's input audio buffer on the engine's side, and the turn detector watching it.

Only audio that can still become part of a learner item is kept. With turn detection, that is a
detected turn from its start (prefix padding included) until it is committed, and, while nobody
speaks, the last moments a turn starting next could reach back to (`TurnDetector.reach_ms`): an
hour of silence holds no more than a second of it. With manual turns, it is everything appended
since the last commit or clear, up to `MAX_BUFFER_MS`. Either way the newest `MAX_BUFFER_MS` at
most are kept: older audio is dropped as new audio arrives.

Positions count bytes from the session's first appended sample, as the API's `audio_*_ms` count
milliseconds from it.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from tutor_cli.engine.settings import DetectorParameters, detector_parameters
from tutor_cli.engine.turns import SpeechStarted, TurnEvent
from tutor_cli.realtime.events import BYTES_PER_MS

if TYPE_CHECKING:
    from tutor_cli.engine.vad import TurnDetector

# Five minutes (14.4 MB): longer than any one learner turn, spoken or pushed-to-talk.
MAX_BUFFER_MS = 5 * 60 * 1000


class InputAudio:
    """Appended audio waiting to become a learner item, with turn detection as configured."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0  # the position of the buffer's first byte
        self._detector: TurnDetector | None = None
        self._parameters: DetectorParameters | None = None
        self._settings: dict[str, Any] | None = None  # the turn detection last asked for
        self._turn_starts: deque[int] = deque()  # positions of detected turns not yet taken

    def __len__(self) -> int:
        """Bytes buffered."""
        return len(self._buffer)

    @property
    def _end(self) -> int:
        return self._start + len(self._buffer)

    def detector(self, turn_detection: dict[str, Any]) -> TurnDetector | None:
        """The detector these settings ask for (None: manual turns). It is kept while they do
        not change, so a turn in progress survives a `session.update` about something else."""
        if turn_detection == self._settings:
            return self._detector  # asked again by each of 50 appends a second
        self._settings = dict(turn_detection)
        if not turn_detection:
            self._detector = self._parameters = None
            self._turn_starts.clear()
            return None
        parameters = detector_parameters(turn_detection)
        if parameters != self._parameters:
            # Loaded with the first audio (numpy, soxr, webrtcvad): a text-only session, the
            # usual scripted lesson, never pays for them.
            from tutor_cli.engine.vad import TurnDetector

            start_ms = self._end // BYTES_PER_MS
            self._detector = TurnDetector(*parameters, start_ms=start_ms)
            self._parameters = parameters
            self._turn_starts.clear()  # the new detector knows nothing of a turn in progress
        return self._detector

    def append(self, pcm: bytes, turn_detection: dict[str, Any]) -> list[TurnEvent]:
        """Buffer `pcm`; the turn events it caused, if turns are detected."""
        detector = self.detector(turn_detection)
        self._buffer += pcm
        changes = detector.feed(pcm) if detector else []
        for change in changes:
            if isinstance(change, SpeechStarted):
                self._turn_starts.append(change.audio_start_ms * BYTES_PER_MS)
        keep_from = self._end - MAX_BUFFER_MS * BYTES_PER_MS
        if detector is not None:
            reach = self._end - detector.reach_ms * BYTES_PER_MS
            needed = min(self._turn_starts[0], reach) if self._turn_starts else reach
            keep_from = max(keep_from, needed)
        self._drop_before(keep_from)
        return changes

    def take_turn(self, end_ms: int) -> bytes:
        """The audio of the oldest detected turn, from its start to `end_ms`, for a learner
        item. What came before it is dropped; what came after stays for the next turn."""
        start = max(self._turn_starts.popleft() if self._turn_starts else 0, self._start)
        end = min(max(end_ms * BYTES_PER_MS, start), self._end)
        audio = bytes(self._buffer[start - self._start : end - self._start])
        self._drop_before(end)
        return audio

    def take(self) -> bytes:
        """Everything buffered, for a learner item the client commits; the buffer starts again
        empty, and a turn in progress is over."""
        audio = bytes(self._buffer)
        self.clear()
        return audio

    def clear(self) -> None:
        """Drop what is buffered, and any turn in progress."""
        self._drop_before(self._end)
        self._turn_starts.clear()
        if self._detector:
            self._detector.reset()

    def _drop_before(self, position: int) -> None:
        if position > self._start:
            del self._buffer[: position - self._start]
            self._start = position
