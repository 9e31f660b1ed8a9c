"""A session's settings on the engine's side: what a new session starts with, how
`session.update` merges into it, and which turn detector its `turn_detection` asks for."""

from __future__ import annotations

import copy
from typing import Any

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


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Only the fields sent change. `audio`, `audio.input` and `audio.output` merge key by key;
    every other field (a turn-detection object, the tool list) is replaced whole."""
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if key == "audio" and isinstance(value, dict):
            audio = merged.setdefault("audio", {})
            for side in ("input", "output"):
                if isinstance(value.get(side), dict):
                    audio.setdefault(side, {}).update(copy.deepcopy(value[side]))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def detector_parameters(turn_detection: dict[str, Any]) -> DetectorParameters:
    """The turn detector a `server_vad` or `semantic_vad` object asks for (raises TypeError or
    ValueError for values that are not numbers)."""
    if turn_detection.get("type") == "semantic_vad":
        eagerness = turn_detection.get("eagerness") or "auto"
        return 0.5, 300, SEMANTIC_SILENCE_MS.get(eagerness, 700)
    return (
        float(turn_detection.get("threshold") or 0.5),
        int(turn_detection.get("prefix_padding_ms") or 300),
        int(turn_detection.get("silence_duration_ms") or 500),
    )
