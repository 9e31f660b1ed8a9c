"""What a server event must look like before the client uses it.

Events stay dicts, and unknown types and fields pass through; but a known event whose fields
have the wrong type (a `response` that is a string, an `audio_end_ms` of "abc", a token count
of 400 digits) would break whoever reads it. `problem` says what is wrong with such an event,
so the Conversation can skip it, and the Call log and report it, instead of crashing.

Only the fields the client reads are checked, with the types the OpenAI SDK declares for them.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]

# Events the Conversation takes in without acting on them (unknown ones it reports).
IGNORED = frozenset(
    {
        "session.created",
        "conversation.created",
        "conversation.item.done",
        "conversation.item.retrieved",
        "conversation.item.deleted",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "input_audio_buffer.timeout_triggered",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.segment",
        "response.output_item.added",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "rate_limits.updated",
    }
)

# Larger than any real count of tokens or milliseconds, small enough to stay exact as a float.
MAX_COUNT = 10**12

# A field's allowed kinds: "str", "int" (a count: whole, 0 to MAX_COUNT), "object", "list",
# "null" (also: absent); "any" takes anything present.
Spec = tuple[str, ...]

_TEXT = ("str", "null")
_COUNT = ("int", "null")
_OBJECT = ("object", "null")

_DELTA: dict[str, Spec] = {"item_id": _TEXT, "delta": ("str",)}
_SESSION: dict[str, Spec] = {
    "session": _OBJECT,
    "session.model": _TEXT,
    "session.output_modalities": ("list", "null"),
    "session.modalities": ("list", "null"),
    "session.audio": _OBJECT,
    "session.input_audio_format": _TEXT,
    "session.output_audio_format": _TEXT,
}
_USAGE: dict[str, Spec] = {
    "response.usage": _OBJECT,
    "response.usage.input_token_details": _OBJECT,
    "response.usage.output_token_details": _OBJECT,
    "response.usage.input_token_details.cached_tokens_details": _OBJECT,
    **{
        f"response.usage.{side}_token_details.{kind}_tokens": _COUNT
        for side in ("input", "output")
        for kind in ("text", "audio")
    },
    **{
        f"response.usage.input_token_details.cached_tokens_details.{kind}_tokens": _COUNT
        for kind in ("text", "audio")
    },
}

SPECS: dict[str, dict[str, Spec]] = {
    "session.created": _SESSION,
    "session.updated": _SESSION,
    "response.created": {"response": ("object",), "response.id": _TEXT},
    "response.output_audio_transcript.delta": _DELTA,
    "response.output_text.delta": _DELTA,
    "response.output_audio.delta": _DELTA,
    "response.output_audio_transcript.done": {"item_id": _TEXT, "transcript": _TEXT},
    "response.output_text.done": {"item_id": _TEXT, "text": _TEXT},
    "conversation.item.truncated": {"item_id": ("str",), "audio_end_ms": ("int",)},
    "conversation.item.added": {
        "item": ("object",),
        "item.id": _TEXT,
        "item.role": _TEXT,
        "item.content": ("list", "null"),
    },
    "conversation.item.input_audio_transcription.completed": {
        "item_id": _TEXT,
        "transcript": _TEXT,
    },
    "conversation.item.input_audio_transcription.failed": {
        "item_id": _TEXT,
        "error": _OBJECT,
        "error.message": _TEXT,
    },
    "response.output_item.done": {
        "item": ("object",),
        "item.id": _TEXT,
        "item.type": _TEXT,
        "item.status": _TEXT,
        "item.call_id": _TEXT,
        "item.name": _TEXT,
    },
    "response.done": {
        "response": ("object",),
        "response.id": _TEXT,
        "response.status": _TEXT,
        "response.status_details": _OBJECT,
        "response.status_details.reason": _TEXT,
        "response.status_details.type": _TEXT,
        **_USAGE,
    },
    "input_audio_buffer.speech_started": {"item_id": _TEXT, "audio_start_ms": _COUNT},
    "input_audio_buffer.speech_stopped": {"item_id": _TEXT, "audio_end_ms": _COUNT},
    "error": {
        "error": _OBJECT,
        "error.code": _TEXT,
        "error.message": _TEXT,
        "error.event_id": _TEXT,
    },
}


def _fits(value: Any, kinds: Spec) -> bool:
    for kind in kinds:
        if kind == "any":
            return True
        if kind == "null" and value is None:
            return True
        if kind == "str" and isinstance(value, str):
            return True
        if kind == "object" and isinstance(value, dict):
            return True
        if kind == "list" and isinstance(value, list):
            return True
        if (
            kind == "int"
            and isinstance(value, int)
            and not isinstance(value, bool)
            and 0 <= value <= MAX_COUNT
        ):
            return True
    return False


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def problem(event: Event) -> str | None:
    """What is wrong with a known event's fields, or None (unknown types are never wrong)."""
    spec = SPECS.get(str(event.get("type")))
    if spec is None:
        return None
    for path, kinds in spec.items():
        where: Any = event
        for name in path.split("."):
            where = where.get(name) if isinstance(where, dict) else None
        if where is None and "null" in kinds:
            continue  # absent or null: allowed; a parent of the wrong type was caught first
        if not _fits(where, kinds):
            wanted = " or ".join(k for k in kinds if k != "null")
            return f"'{path}' should be {wanted}, not {_shown(where)}"
    return None
