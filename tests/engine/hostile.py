"""Client frames that once killed an engine session, each with the refusal it must get instead:
(frame, error code, the field the error names). Used in memory (test_client_events,
test_responder); the loopback tests send some of them over a real socket."""

from __future__ import annotations

import json
from typing import Any

import pytest

Event = dict[str, Any]


def _user(part: Event) -> str:
    item = {"type": "message", "role": "user", "content": [part]}
    return json.dumps({"type": "conversation.item.create", "item": item})


def _respond(**response: Any) -> str:
    return json.dumps({"type": "response.create", "response": response})


def _session(**session: Any) -> str:
    return json.dumps({"type": "session.update", "session": {"type": "realtime", **session}})


MIXED_NAMES = [{"type": "function", "name": 1}, {"type": "function", "name": "b"}]
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_FIELD = json.dumps({"type": "response.create", "response": {"metadata": {}}}).replace(
    "{}", '{"a": ' * 200 + "{}" + "}" * 200
)
LONE_SURROGATE = _user({"type": "input_text", "text": "x"}).replace('"x"', '"\\ud800"')
SURROGATE_EVENT_ID = '{"type": "response.cancel", "event_id": "\\udc00"}'

HOSTILE = [
    pytest.param(DEEP_ARRAY, "invalid_json", None, id="array-nested-100000-deep"),
    pytest.param(DEEP_FIELD, "invalid_json", None, id="field-nested-200-deep"),
    pytest.param(LONE_SURROGATE, "invalid_value", "item.content[0].text", id="lone-surrogate"),
    pytest.param(SURROGATE_EVENT_ID, "invalid_value", "event_id", id="surrogate-event-id"),
    pytest.param(
        _user({"type": "input_text", "text": 5}),
        "invalid_type",
        "item.content[0].text",
        id="input-text-5",
    ),
    pytest.param(
        _user({"type": "input_audio", "transcript": 7}),
        "invalid_type",
        "item.content[0].transcript",
        id="input-audio-transcript-7",
    ),
    pytest.param(
        _respond(tools=[1, {"name": [1]}]), "invalid_type", "response.tools[0]", id="tools-junk"
    ),
    pytest.param(
        _respond(instructions=5), "invalid_type", "response.instructions", id="instructions-5"
    ),
    pytest.param(_session(tools=5), "invalid_type", "session.tools", id="session-tools-5"),
    pytest.param(
        _respond(tools=MIXED_NAMES, instructions="Say: hi"),
        "invalid_type",
        "response.tools[0].name",
        id="mixed-names-with-instructions",
    ),
    pytest.param(
        _respond(tools=MIXED_NAMES, tool_choice="required"),
        "invalid_type",
        "response.tools[0].name",
        id="mixed-names-tool-choice-required",
    ),
    pytest.param(
        _session(tools=MIXED_NAMES, tool_choice="required"),
        "invalid_type",
        "session.tools[0].name",
        id="session-mixed-names",
    ),
    pytest.param(
        _session(audio={"output": {"speed": "fast"}}),
        "invalid_type",
        "session.audio.output.speed",
        id="speed-fast",
    ),
    pytest.param(
        _session(audio={"output": {"speed": 3}}),
        "invalid_value",
        "session.audio.output.speed",
        id="speed-3",
    ),
    pytest.param(
        json.dumps(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call", "call_id": "c", "name": "x", "arguments": 5},
            }
        ),
        "invalid_type",
        "item.arguments",
        id="function-call-arguments-5",
    ),
    pytest.param(
        '{"type": "session.update", "session": {"type": "realtime", "audio": '
        '{"output": {"speed": NaN}}}}',
        "invalid_json",
        None,
        id="nan",
    ),
    pytest.param(
        '{"type": "conversation.item.truncate", "item_id": "x", "content_index": 0, '
        '"audio_end_ms": ' + "9" * 5000 + "}",
        "invalid_json",
        None,
        id="5000-digits",
    ),
]
