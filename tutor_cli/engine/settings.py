"""A session's settings on the engine's side: what a new session starts with, how
`session.update` merges into it, what this engine refuses of it, and which turn detector its
`turn_detection` asks for."""

from __future__ import annotations

import copy
from typing import Any

from tutor_cli.engine.client_events import ClientError
from tutor_cli.realtime.events import DEFAULT_SERVER_VAD, RATE

# `semantic_vad` has no silence figure of its own; its eagerness stands for one.
SEMANTIC_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 350}

# (threshold, prefix_padding_ms, silence_duration_ms): the `TurnDetector` arguments.
DetectorParameters = tuple[float, int, int]


def default_session(model: str, session_id: str, expires_at: int) -> dict[str, Any]:
    """A new session's config, as `session.created` reports it."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": RATE},
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": dict(DEFAULT_SERVER_VAD),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": RATE},
                "voice": "marin",
                "speed": 1.0,
            },
        },
    }


# Input settings for which null is a setting of its own: off (manual turns, no transcript).
_NULL_MEANS_OFF = frozenset({"turn_detection", "transcription", "noise_reduction"})


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Only the fields sent change. `audio`, `audio.input` and `audio.output` merge key by key;
    every other field (a turn-detection object, the tool list) is replaced whole. A null
    changes nothing, except where null turns something off (turn detection, transcription,
    noise reduction): a session never holds a null where a setting is needed."""
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if value is None:
            continue
        if key != "audio":
            merged[key] = copy.deepcopy(value)
            continue
        for side in ("input", "output"):
            for name, setting in (value.get(side) or {}).items():
                if setting is not None or (side == "input" and name in _NULL_MEANS_OFF):
                    merged["audio"][side][name] = copy.deepcopy(setting)
    return merged


def check_session(session: dict[str, Any]) -> None:
    """Refuse settings that fit the API's shapes but not this engine, or not each other."""
    check_modalities(session.get("output_modalities"), "session.output_modalities")
    for side in ("input", "output"):
        audio_format = session["audio"][side].get("format") or {}
        if audio_format.get("type", "audio/pcm") != "audio/pcm":
            raise ClientError(
                "invalid_value",
                "the offline engine speaks audio/pcm (24 kHz) only",
                f"session.audio.{side}.format.type",
            )
    choice = session.get("tool_choice")
    if isinstance(choice, dict) and choice.get("name") not in function_names(session.get("tools")):
        raise ClientError(
            "invalid_value",
            f"tool_choice names a tool that is not declared: {choice.get('name')!r}",
            "session.tool_choice",
        )


def check_modalities(modalities: Any, param: str) -> None:
    """Audio (with its transcript) or text, not both."""
    if modalities is not None and modalities not in (["audio"], ["text"]):
        raise ClientError("invalid_value", "output_modalities must be ['audio'] or ['text']", param)


def function_names(tools: list[dict[str, Any]] | None) -> frozenset[str]:
    """The names of the function tools in a (checked) tool list."""
    return frozenset(
        tool["name"]
        for tool in tools or []
        if tool.get("type", "function") in ("function", None) and tool.get("name") is not None
    )


def detector_parameters(turn_detection: dict[str, Any]) -> DetectorParameters:
    """The turn detector a (checked) `server_vad` or `semantic_vad` object asks for; what it
    leaves out or sets to null is the API's default, and 0 stays 0."""
    if turn_detection.get("type") == "semantic_vad":
        eagerness = turn_detection.get("eagerness") or "auto"
        return 0.5, 300, SEMANTIC_SILENCE_MS[eagerness]
    defaults = {"threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500}
    threshold, padding, silence = (
        default if turn_detection.get(name) is None else turn_detection[name]
        for name, default in defaults.items()
    )
    return float(threshold), int(padding), int(silence)
