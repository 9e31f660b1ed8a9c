"""The learner's choices that shape a lesson's Realtime session, over the scenario's defaults.
Light on purpose: the command line offers them before anything else loads."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from tutor_cli.datatypes import datatype

DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"


class NoiseReduction(StrEnum):
    """The server's input noise reduction: `far_field` helps a laptop mic without headphones."""

    near_field = "near_field"
    far_field = "far_field"
    off = "off"


@datatype
class SessionOptions:
    """Choices made on the command line that shape the session, over the scenario's defaults."""

    output_modalities: Literal["audio", "text"] = "audio"
    turn_detection: Literal["scenario", "server_vad", "semantic_vad", "manual"] = "scenario"
    voice: str | None = None
    speed: float | None = None
    noise_reduction: NoiseReduction = NoiseReduction.near_field
    transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL
    model: str | None = None
