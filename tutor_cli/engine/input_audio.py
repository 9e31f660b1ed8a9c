"""The learner's input audio buffer on the engine's side, and the turn detector watching it."""

from __future__ import annotations

from typing import Any

from tutor_cli.engine.settings import DetectorParameters, detector_parameters
from tutor_cli.engine.vad import TurnDetector, TurnEvent


class InputAudio:
    """Appended audio waiting to become a learner item, with turn detection as configured."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._detector: TurnDetector | None = None
        self._parameters: DetectorParameters | None = None

    def __len__(self) -> int:
        """Bytes buffered."""
        return len(self._buffer)

    def detector(self, turn_detection: dict[str, Any]) -> TurnDetector | None:
        """The detector these settings ask for (None: manual turns). It is kept while they do
        not change, so a turn in progress survives a `session.update` about something else;
        values out of range raise ValueError or TypeError."""
        if not turn_detection:
            self._detector = self._parameters = None
            return None
        parameters = detector_parameters(turn_detection)
        if parameters != self._parameters:
            self._detector, self._parameters = TurnDetector(*parameters), parameters
        return self._detector

    def append(self, pcm: bytes, turn_detection: dict[str, Any]) -> list[TurnEvent]:
        """Buffer `pcm`; the turn events it caused, if turns are detected."""
        self._buffer += pcm
        detector = self.detector(turn_detection)
        return detector.feed(pcm) if detector else []

    def take(self) -> bytes:
        """Everything buffered, for a learner item; the buffer starts again empty."""
        audio = bytes(self._buffer)
        self.clear()
        return audio

    def clear(self) -> None:
        """Drop what is buffered, and any turn in progress."""
        self._buffer.clear()
        if self._detector:
            self._detector.reset()
