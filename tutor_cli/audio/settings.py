"""How a call's voice is set up: the choices, without the devices (so the command line can
offer them without loading PortAudio or numpy)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from tutor_cli.datatypes import datatype


class EchoGateMode(StrEnum):
    """Whether mic frames are dropped while the tutor is audible (unless clearly louder)."""

    auto = "auto"  # on for a sound card, off for a speaker file
    on = "on"
    off = "off"


@datatype
class VoiceSettings:
    mic_file: Path | None = None
    speaker_file: Path | None = None
    input_device: str | None = None
    output_device: str | None = None
    echo_gate: EchoGateMode = EchoGateMode.auto
    push_to_talk: bool = False
    prebuffer_ms: int = 40
    mic_realtime: bool = True
