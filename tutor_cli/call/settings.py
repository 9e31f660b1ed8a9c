"""How a call is set up: engine, timeouts, the session's options and the voice's. Light to
import: the command line and the call screen build one before anything heavy loads."""

from __future__ import annotations

from dataclasses import field, replace
from pathlib import Path

from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.datatypes import datatype
from tutor_cli.lesson.session_options import SessionOptions


@datatype
class CallSettings:
    engine: str = "auto"
    model: str | None = None
    text_only: bool = False
    keep_mic_audio: bool = False
    # Driven by a script or by lines given in advance (--script, --say, piped input), not
    # held by the learner: stored, but no measure of the learner's progress.
    scripted: bool = False
    session: SessionOptions = field(default_factory=SessionOptions)
    reply_timeout: float = 60.0  # the engine's longest silence while it owes a reply
    grade_timeout: float = 15.0  # the longest an ending call waits for its grade
    connect_timeout: float = 10.0
    reconnect_backoff: float = 0.5  # the first pause before a reconnect; it doubles, up to 8 s
    scenario_dirs: tuple[Path, ...] = ()
    pace: float = 4.0
    voice: VoiceSettings = field(default_factory=VoiceSettings)

    @property
    def manual_turns(self) -> bool:
        """The learner's turns end when they say so, not when the server hears silence."""
        return self.voice.push_to_talk or self.session.turn_detection == "manual"

    def session_options(self, *, voice: bool) -> SessionOptions:
        """The session's options once it is known whether the call has a voice: text replies
        without one, manual turns with push-to-talk."""
        if not voice:
            return replace(self.session, output_modalities="text")
        if self.voice.push_to_talk:
            return replace(self.session, output_modalities="audio", turn_detection="manual")
        return self.session
