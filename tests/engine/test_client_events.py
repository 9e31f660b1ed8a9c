"""No client event may kill a session: the engine's protocol refuses what the OpenAI SDK's
client-event types refuse, naming the field, and an unexpected fault in a handler becomes a
`server_error`; either way the next `response.create` is answered. No asyncio."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conformance import assert_client_event
from tests.engine.hostile import HOSTILE
from tests.engine.protocol_harness import Event, feed, lesson, only_events, reply
from tutor_cli.engine.protocol import EngineProtocol
from tutor_cli.realtime import events


def assert_still_answering(protocol: EngineProtocol) -> None:
    done = reply(protocol, events.response_create(output_modalities=["text"]))[-1]
    assert done["response"]["status"] == "completed"


@pytest.mark.parametrize(("frame", "code", "param"), HOSTILE)
def test_a_hostile_frame_is_refused_and_the_session_goes_on(
    frame: str, code: str, param: str | None
) -> None:
    protocol = lesson()
    before = json.dumps(protocol.session)
    (error,) = only_events(feed(protocol, frame))
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["code"], error["error"]["param"]) == (code, param)
    assert json.dumps(protocol.session) == before
    assert_still_answering(protocol)


def test_an_event_id_that_is_not_text_is_not_echoed() -> None:
    protocol = lesson()
    (error,) = only_events(feed(protocol, {"type": "response.cancel", "event_id": 7}))
    assert (error["error"]["param"], error["error"]["event_id"]) == ("event_id", None)


def test_a_fault_in_a_handler_becomes_a_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = lesson()

    def broken(*args: Any) -> Any:
        raise RuntimeError("the tutor tripped")

    monkeypatch.setattr(protocol.tutor, "respond", broken)
    create = events.response_create()
    (error,) = only_events(feed(protocol, create))
    assert error["error"]["type"] == "server_error"
    assert error["error"]["event_id"] == create["event_id"]
    assert "tripped" not in error["error"]["message"]  # no internals to the client
    monkeypatch.undo()
    assert_still_answering(protocol)  # and no response was left active


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "response.cancel", "event_id": "a\ud800"}',  # as a str, not escaped
        '{"type": "response.cancel", "event_id": "\u00e9\udfff"}',
        '{"type": "response.cancel", "event_id": "\\uD800"}',  # escaped, capitals
    ],
)
def test_a_lone_surrogate_written_any_way_is_refused(frame: str) -> None:
    protocol = lesson()
    (error,) = only_events(feed(protocol, frame))
    assert (error["error"]["code"], error["error"]["param"]) == ("invalid_value", "event_id")
    assert_still_answering(protocol)


def test_an_escaped_backslash_before_u_is_not_a_surrogate() -> None:
    protocol = lesson()
    frame = '{"type": "response.cancel", "event_id": "C:\\\\udder"}'
    assert json.loads(frame)["event_id"] == "C:\\udder"
    (reply_event,) = only_events(feed(protocol, frame))
    assert reply_event["error"]["code"] != "invalid_value"


def test_an_append_over_15_mib_is_refused() -> None:
    protocol = lesson()
    audio = base64.b64encode(bytes(15 * 2**20 + 3)).decode("ascii")
    frame = {"type": "input_audio_buffer.append", "audio": audio}
    (error,) = only_events(feed(protocol, frame))
    assert (error["error"]["code"], error["error"]["param"]) == ("invalid_value", "audio")
    assert "15 MiB" in error["error"]["message"]
    assert protocol.retained_audio_bytes == 0


@pytest.mark.parametrize(
    "update",
    [
        {"audio": None},
        {"audio": {"output": None, "input": None}},
        {"output_modalities": None, "tools": None, "instructions": None, "tool_choice": None},
        {"audio": {"output": {"speed": None, "voice": None}}},
    ],
)
def test_a_null_in_a_session_update_changes_nothing(update: Event) -> None:
    protocol = lesson()
    before = copy.deepcopy(protocol.session)
    (updated,) = only_events(feed(protocol, events.session_update({"type": "realtime", **update})))
    assert updated["type"] == "session.updated"
    assert protocol.session == before
    assert_still_answering(protocol)


# --- every field, against the SDK's own types -------------------------------------------------

TOOL = {"type": "function", "name": "grade_lesson", "description": "d", "parameters": {}}
SAMPLES: list[Event] = [
    {
        "type": "session.update",
        "event_id": "evt_1",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "Teach.",
            "output_modalities": ["audio"],
            "tools": [TOOL],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "noise_reduction": {"type": "near_field"},
                    "transcription": {"model": "gpt-4o-mini-transcribe", "language": "es"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "voice": "marin",
                    "speed": 1.0,
                },
            },
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "tool_choice": {"type": "function", "name": "grade_lesson"},
            "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}},
        },
    },
    {"type": "input_audio_buffer.append", "event_id": "evt_2", "audio": "AAAAAA=="},
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.clear"},
    {
        "type": "conversation.item.create",
        "previous_item_id": None,
        "item": {
            "id": "item_user",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hola"}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Buenas."}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be brief."}],
        },
    },
    {
        "type": "conversation.item.create",
        "item": {
            "type": "function_call",
            "call_id": "c",
            "name": "grade_lesson",
            "arguments": "{}",
        },
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "c", "output": "{}"},
    },
    {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": 0},
    {"type": "conversation.item.delete", "item_id": "i"},
    {"type": "conversation.item.retrieve", "item_id": "i"},
    {
        "type": "response.create",
        "response": {
            "instructions": "Say: hi",
            "output_modalities": ["text"],
            "tools": [TOOL],
            "tool_choice": {"type": "function", "name": "grade_lesson"},
            "conversation": "none",
            "metadata": {"turn": "1"},
            "max_output_tokens": 100,
        },
    },
    {"type": "response.cancel", "response_id": "resp_1"},
]

WRONG_VALUES: list[Any] = [5, -1, 1.5, "x", True, None, [1], {"a": 1}]
GONE = object()  # a mutation that deletes the field


def paths(value: Any, prefix: str = "") -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every field of an event, as the param that names it and the keys that reach it."""
    keys: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in keys:
        name = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}".lstrip(".")
        yield name, (key,)
        if isinstance(child, dict | list):
            for inner, route in paths(child, name):
                yield inner, (key, *route)


def mutated(event: Event, route: tuple[str | int, ...], value: Any) -> Event:
    copied = copy.deepcopy(event)
    where: Any = copied
    for key in route[:-1]:
        where = where[key]
    if value is GONE:
        del where[route[-1]]
    else:
        where[route[-1]] = value
    return copied


def on_the_way(name: str, param: str | None) -> bool:
    """Whether an error naming `param` points at the field `name` that was spoiled: the field
    itself, what holds it (a value that fits none of the shapes that may stand there), or a
    field of the object put in its place (one it lacks)."""
    if param is None:
        return False
    outer, inner = sorted((name, param), key=len)
    return inner.startswith(outer) and (inner == outer or inner[len(outer)] in ".[")


def sdk_accepts(event: Event) -> bool:
    try:
        assert_client_event(event)
    except ValidationError:
        return False
    return True


def test_the_samples_are_valid_client_events() -> None:
    for sample in SAMPLES:
        assert sdk_accepts(sample), sample


def test_what_the_sdk_refuses_is_refused_naming_the_field_and_nothing_fails() -> None:
    checked = 0
    for sample in SAMPLES:
        for name, route in paths(sample):
            for value in [*WRONG_VALUES, GONE]:
                event = mutated(sample, route, value)
                outputs = feed(EngineProtocol(None, "gpt-realtime"), event)
                errors = [
                    o["error"] for o in outputs if isinstance(o, dict) and o["type"] == "error"
                ]
                assert all(e["type"] != "server_error" for e in errors), (event, errors)
                if sdk_accepts(event):
                    continue
                checked += 1
                assert len(outputs) == 1 and errors, (event, outputs)
                (error,) = errors
                assert error["type"] == "invalid_request_error", (event, error)
                assert on_the_way(name, error["param"]), (event, error)
    assert checked > 300
