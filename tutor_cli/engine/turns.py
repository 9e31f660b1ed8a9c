"""What the engine's turn detector reports: a learner's turn started or stopped.

Apart from the detector (`vad`), so the protocol can speak of turns without loading numpy,
soxr and webrtcvad: a text-only session never needs them.
"""

from __future__ import annotations

from tutor_cli.datatypes import datatype


@datatype
class SpeechStarted:
    """The learner started speaking.

    `audio_start_ms` is the onset moved back by `prefix_padding_ms` (as the SDK documents), never
    before the detector started listening nor before the point where the previous turn was
    closed (audio before that belongs to the previous item).
    """

    audio_start_ms: int


@datatype
class SpeechStopped:
    """The learner stopped: `audio_end_ms` is where the silence that ended the turn was complete,
    so it includes `silence_duration_ms`, as the SDK documents (the audio the item holds ends
    there)."""

    audio_end_ms: int


TurnEvent = SpeechStarted | SpeechStopped
