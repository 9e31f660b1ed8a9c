"""The engine's protocol alone: client events in, server events and jobs out. No asyncio."""

from __future__ import annotations

import json

import pytest

from tests.engine.protocol_harness import (
    Event,
    checked,
    feed,
    kinds,
    lesson,
    only_events,
    reply,
    respond,
    stream,
)
from tutor_cli.engine.protocol import Cancel, EngineProtocol
from tutor_cli.engine.tutor import CallTool
from tutor_cli.realtime import events
from tutor_cli.realtime.events import BYTES_PER_MS

# --- session ----------------------------------------------------------------------------------


def test_a_new_session_is_announced_with_the_api_defaults() -> None:
    protocol = EngineProtocol(None, "gpt-realtime-mini")
    (created,) = checked(protocol.start())
    assert isinstance(created, dict) and created["type"] == "session.created"
    session = created["session"]
    assert session["id"] == "sess_000001" and created["event_id"] == "event_000002"
    assert session["model"] == "gpt-realtime-mini"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert session["audio"]["input"]["turn_detection"] == events.DEFAULT_SERVER_VAD
    assert session["audio"]["output"]["voice"] == "marin"


def test_session_update_merges_audio_and_replaces_everything_else() -> None:
    protocol = lesson()
    before = protocol.session
    tool = {"type": "function", "name": "other", "parameters": {"type": "object"}}
    update = {"type": "realtime", "audio": {"output": {"speed": 1.2}}, "tools": [tool]}
    (updated,) = only_events(feed(protocol, events.session_update(update)))
    after = updated["session"]
    assert after["audio"]["output"]["speed"] == 1.2
    assert after["audio"]["output"]["voice"] == before["audio"]["output"]["voice"] == "ash"
    assert after["audio"]["input"] == before["audio"]["input"]
    assert after["instructions"] == before["instructions"]
    assert after["tools"] == [tool]  # a list is replaced, not merged
    vad = {"type": "server_vad", "silence_duration_ms": 800}
    update = {"type": "realtime", "audio": {"input": {"turn_detection": vad}}}
    (updated,) = only_events(feed(protocol, events.session_update(update)))
    assert updated["session"]["audio"]["input"]["turn_detection"] == vad  # replaced whole


TD = "session.audio.input.turn_detection"


@pytest.mark.parametrize(
    ("update", "code", "param"),
    [
        (
            {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 7}}}},
            "invalid_value",
            f"{TD}.threshold",
        ),
        (
            {
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "prefix_padding_ms": -1}}
                }
            },
            "invalid_value",
            f"{TD}.prefix_padding_ms",
        ),
        (
            {
                "audio": {
                    "input": {
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": "long"}
                    }
                }
            },
            "invalid_type",
            f"{TD}.silence_duration_ms",
        ),
        (
            {"audio": {"input": {"turn_detection": {"silence_duration_ms": 800}}}},
            "missing_required_parameter",
            f"{TD}.type",
        ),
        ({"audio": {"input": {"turn_detection": "server_vad"}}}, "invalid_type", TD),
        (
            {"audio": {"output": {"format": {"type": "audio/pcmu"}}}},
            "invalid_value",
            "session.audio.output.format.type",
        ),
        ({"output_modalities": ["audio", "text"]}, "invalid_value", "session.output_modalities"),
        ({"type": "transcription"}, "invalid_value", "session.type"),
        ({"instructions": None, "type": None}, "invalid_type", "session.type"),
    ],
)
def test_a_refused_session_update_changes_nothing(update: Event, code: str, param: str) -> None:
    protocol = lesson()
    before = json.dumps(protocol.session)
    session = {"type": "realtime", **update}
    (error,) = only_events(feed(protocol, {"type": "session.update", "session": session}))
    assert error["type"] == "error"
    assert (error["error"]["code"], error["error"]["param"]) == (code, param)
    assert json.dumps(protocol.session) == before


# --- bad frames -------------------------------------------------------------------------------

BAD = [
    (b"binary", "invalid_event", None),
    ("{not json", "invalid_json", None),
    (json.dumps(["a", "list"]), "invalid_event", None),
    (json.dumps({"no": "type"}), "missing_required_parameter", "type"),
    (json.dumps({"type": "made.up.event"}), "invalid_value", "type"),
    (json.dumps({"type": "session.update"}), "missing_required_parameter", "session"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "***"}), "invalid_value", "audio"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": 5}), "invalid_type", "audio"),
    (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty", None),
    (json.dumps({"type": "response.cancel"}), "response_cancel_not_active", None),
    (
        json.dumps(
            {
                "type": "conversation.item.truncate",
                "item_id": "x",
                "content_index": 0,
                "audio_end_ms": True,
            }
        ),
        "invalid_type",
        "audio_end_ms",
    ),
    (
        json.dumps({"type": "conversation.item.truncate", "item_id": "x", "audio_end_ms": 5}),
        "missing_required_parameter",
        "content_index",
    ),
]


@pytest.mark.parametrize(("frame", "code", "param"), BAD)
def test_a_bad_frame_is_answered_with_an_error_event(
    frame: str | bytes, code: str, param: str | None
) -> None:
    protocol = lesson()
    (error,) = only_events(feed(protocol, frame))
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["code"], error["error"]["param"]) == (code, param)


def test_an_error_names_the_client_event_it_answers() -> None:
    protocol = lesson()
    (error,) = only_events(feed(protocol, {"type": "made.up", "event_id": "evt_42"}))
    assert error["error"]["event_id"] == "evt_42"
    (error,) = only_events(feed(protocol, {"type": "session.update", "event_id": 7}))
    assert error["error"]["event_id"] is None  # not a string: not echoed


# --- conversation items -----------------------------------------------------------------------


def test_items_are_created_retrieved_and_deleted() -> None:
    protocol = lesson()
    added, done = only_events(feed(protocol, events.user_text("Hola")))
    assert (added["type"], done["type"]) == ("conversation.item.added", "conversation.item.done")
    first = added["item"]
    assert added["previous_item_id"] is None and first["content"][0]["text"] == "Hola"
    assert first["object"] == "realtime.item" and first["status"] == "completed"
    second = only_events(feed(protocol, events.user_text("¿Y usted?")))[0]
    assert second["previous_item_id"] == first["id"]
    (retrieved,) = only_events(feed(protocol, events.item_retrieve(first["id"])))
    assert retrieved["item"] == first
    (deleted,) = only_events(feed(protocol, events.item_delete(first["id"])))
    assert deleted == {**deleted, "type": "conversation.item.deleted", "item_id": first["id"]}
    for gone in (events.item_retrieve(first["id"]), events.item_delete(first["id"])):
        (error,) = only_events(feed(protocol, gone))
        assert error["error"]["code"] == "item_not_found"


def test_an_item_goes_where_the_client_puts_it() -> None:
    protocol = lesson()
    first = only_events(feed(protocol, events.user_text("uno")))[0]["item"]
    only_events(feed(protocol, events.user_text("tres")))
    middle = only_events(feed(protocol, events.user_text("dos", previous_item_id=first["id"])))
    assert middle[0]["previous_item_id"] == first["id"]
    (error,) = only_events(feed(protocol, events.user_text("x", previous_item_id="nope")))
    assert error["error"]["code"] == "item_not_found"


@pytest.mark.parametrize(
    ("item", "code", "param"),
    [
        ({"type": "mystery"}, "invalid_value", "item.type"),
        ({"type": "message", "role": "bot", "content": []}, "invalid_value", "item.role"),
        ({"type": "message", "role": "user", "content": []}, "missing_required_parameter", None),
        (
            {"type": "message", "role": "user", "content": [{"type": "output_text", "text": ""}]},
            "invalid_value",
            "item.content[0].type",
        ),
        (
            {"type": "function_call_output", "call_id": 3, "output": ""},
            "invalid_type",
            "item.call_id",
        ),
        ({"type": "function_call", "call_id": "c"}, "missing_required_parameter", "item.name"),
    ],
)
def test_a_bad_item_is_refused(item: Event, code: str, param: str | None) -> None:
    protocol = lesson()
    (error,) = only_events(feed(protocol, {"type": "conversation.item.create", "item": item}))
    assert error["error"]["code"] == code
    assert param is None or error["error"]["param"] == param


def test_truncate_cuts_a_spoken_item_and_drops_its_transcript() -> None:
    protocol = lesson("audio")
    got = reply(protocol, audio_ms=3000)
    item = next(e for e in got if e["type"] == "response.output_item.done")["item"]
    assert item["content"][0]["transcript"]
    (error,) = only_events(feed(protocol, events.item_truncate(item["id"], 3500)))
    assert error["error"]["message"] == "audio content of 3000ms is already shorter than 3500ms"
    (truncated,) = only_events(feed(protocol, events.item_truncate(item["id"], 1500)))
    assert truncated["audio_end_ms"] == 1500 and truncated["content_index"] == 0
    (retrieved,) = only_events(feed(protocol, events.item_retrieve(item["id"])))
    # As the API documents: the transcript is removed, so no text the learner did not hear
    # stays in the context.
    assert retrieved["item"]["content"][0]["transcript"] == ""
    (error,) = only_events(feed(protocol, events.item_truncate(item["id"], 2000)))
    assert "1500ms is already shorter than 2000ms" in error["error"]["message"]
    user = only_events(feed(protocol, events.user_text("Hola")))[0]["item"]
    (error,) = only_events(feed(protocol, events.item_truncate(user["id"], 0)))
    assert error["error"]["message"] == "only assistant audio can be truncated"


def test_truncating_an_item_still_streaming_cancels_its_response() -> None:
    protocol = lesson("audio")
    response = respond(feed(protocol, events.response_create()))
    checked(protocol.response_started(response))
    message, _ = protocol.open_message(response, 0)
    checked(protocol.transcript_delta(message, "Buenas tardes, señor."))
    for _ in range(10):
        checked(protocol.audio_delta(message, bytes(100 * BYTES_PER_MS)))
    item_id = message.item["id"]
    # As the openai-agents SDK interrupts: a truncate, no response.cancel.
    outputs = feed(protocol, events.item_truncate(item_id, 400))
    assert kinds(outputs) == ["conversation.item.truncated", "Cancel"]
    assert outputs[1] == Cancel(response) and response.cancel_reason == "client_cancelled"
    # What the stream still had in hand is not sent: the learner stopped listening.
    assert protocol.audio_delta(message, bytes(100 * BYTES_PER_MS)) == []
    assert protocol.transcript_delta(message, "¿Para dónde?") == []
    closed = only_events(checked(protocol.close_message(message)))
    (item_done,) = [e for e in closed if e["type"] == "response.output_item.done"]
    assert item_done["item"]["status"] == "incomplete"
    assert item_done["item"]["content"][0]["transcript"] == ""
    done = only_events(checked(protocol.response_finished(response)))[-1]["response"]
    protocol.response_closed(response)
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["usage"]["output_token_details"]["audio_tokens"] == 8  # 400 ms
    (retrieved,) = only_events(feed(protocol, events.item_retrieve(item_id)))
    assert retrieved["item"]["content"] == [{"type": "output_audio", "transcript": ""}]
    (error,) = only_events(feed(protocol, events.item_truncate(item_id, 500)))
    assert "400ms is already shorter than 500ms" in error["error"]["message"]
    # The lesson goes on.
    feed(protocol, events.user_text("Buenas tardes"))
    got = reply(protocol, audio_ms=500)[-1]["response"]
    assert got["status"] == "completed" and got["output"][0]["content"][0]["transcript"]


def test_truncating_a_finished_item_of_a_response_still_going_cancels_it() -> None:
    protocol = lesson("audio")
    response = respond(feed(protocol, events.response_create()))
    checked(protocol.response_started(response))
    message, _ = protocol.open_message(response, 0)
    checked(protocol.audio_delta(message, bytes(100 * BYTES_PER_MS)))
    checked(protocol.close_message(message))
    outputs = feed(protocol, events.item_truncate(message.item["id"], 50))
    assert kinds(outputs) == ["conversation.item.truncated", "Cancel"]


# --- responses --------------------------------------------------------------------------------


def test_response_create_starts_one_response_at_a_time() -> None:
    protocol = lesson()
    outputs = feed(protocol, events.response_create())
    assert kinds(outputs) == ["Respond"]
    response = respond(outputs)
    assert response.id.startswith("resp_") and response.moves
    (busy,) = only_events(feed(protocol, events.response_create()))
    assert busy["error"]["code"] == "conversation_already_has_active_response"
    assert response.id in busy["error"]["message"]
    got = stream(protocol, response)
    assert [e["response"]["status"] for e in got if e["type"] == "response.done"] == ["completed"]
    assert kinds(feed(protocol, events.response_create())) == ["Respond"]


def test_a_text_response_streams_in_the_api_order() -> None:
    protocol = lesson()
    got = reply(protocol, events.response_create(metadata={"turn": "1"}))
    assert kinds(got) == [
        "rate_limits.updated",
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    ids = [int(e["event_id"].removeprefix("event_")) for e in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    done = got[-1]["response"]
    assert done["metadata"] == {"turn": "1"} and done["conversation_id"] == "conv_offline"
    assert done["output"][0]["content"][0]["text"].startswith("¡Buenas tardes!")


def test_usage_counts_the_context_and_the_reply() -> None:
    protocol = lesson("audio")
    instructions = protocol.session["instructions"]
    done = reply(protocol, audio_ms=2500)[-1]["response"]
    said = done["output"][0]["content"][0]["transcript"]
    usage = done["usage"]
    assert usage["input_token_details"] == {
        "text_tokens": len(instructions) // 4,
        "audio_tokens": 0,
        "cached_tokens": 0,
    }
    # 20 audio tokens a second; text at four characters a token.
    assert usage["output_token_details"] == {"text_tokens": len(said) // 4, "audio_tokens": 50}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # The next response reads the first reply as context.
    usage = reply(protocol)[-1]["response"]["usage"]
    assert usage["input_tokens"] == len(instructions) // 4 + len(said) // 4


def test_per_response_settings() -> None:
    protocol = lesson("audio")
    got = reply(protocol, events.response_create(output_modalities=["text"]))
    assert "response.output_text.delta" in kinds(got)
    forced = events.response_create(tool_choice=events.force_tool("grade_lesson"))
    response = respond(feed(protocol, forced))
    assert [type(m) for m in response.moves] == [CallTool]
    got = stream(protocol, response)
    (arguments,) = [e for e in got if e["type"] == "response.function_call_arguments.done"]
    assert arguments["name"] == "grade_lesson" and json.loads(arguments["arguments"])["score"] == 0
    outside = events.response_create(conversation="none", instructions='Say: "Un momento."')
    got = reply(protocol, outside)
    assert "conversation.item.added" not in kinds(got)
    assert got[-1]["response"]["conversation_id"] is None
    assert got[-1]["response"]["output"][0]["content"][0]["transcript"] == "Un momento."
    for bad, param in (
        (events.response_create(tool_choice=events.force_tool("nope")), "response.tool_choice"),
        (events.response_create(output_modalities=["video"]), "response.output_modalities[0]"),
    ):
        (error,) = only_events(feed(protocol, bad))
        assert error["error"]["param"] == param


def test_a_client_cancel_hands_the_response_back_to_be_finished() -> None:
    protocol = lesson()
    response = respond(feed(protocol, events.response_create()))
    (wrong,) = only_events(feed(protocol, events.response_cancel("resp_other")))
    assert wrong["error"]["code"] == "response_cancel_not_active"
    outputs = feed(protocol, events.response_cancel(response.id))
    assert outputs == [Cancel(response)] and response.cancel_reason == "client_cancelled"
    # The responder finishes a cancelled response before anything later, so the next
    # response.create is taken at once.
    assert kinds(feed(protocol, events.response_create())) == ["Respond"]
    done = stream(protocol, response)[-1]["response"]
    assert done["status"] == "cancelled" and done["output"] == []
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}


def test_a_function_call_output_reaches_the_tutor() -> None:
    protocol = lesson()
    forced = events.response_create(tool_choice=events.force_tool("trigger_quiz"))
    got = stream(protocol, respond(feed(protocol, forced)))
    (call,) = [e for e in got if e["type"] == "response.function_call_arguments.done"]
    feed(protocol, events.function_call_output(call["call_id"], '{"correct": 3, "total": 4}'))
    text = reply(protocol)[-1]["response"]["output"][0]["content"][0]["text"]
    assert "3/4" in text
