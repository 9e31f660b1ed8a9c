"""The Conversation state machine fed recorded-style event sequences (no sockets)."""

from __future__ import annotations

import base64

import pytest

from tests.conformance import assert_client_event
from tutor_cli.lesson.updates import (
    AudioChunk,
    LearnerTranscript,
    LearnerTurn,
    MalformedEvent,
    ResponseState,
    ServerError,
    SpeechStarted,
    ToolCallReady,
    TutorDelta,
    TutorFinal,
    TutorTruncated,
    UnknownEvent,
    UsageUpdate,
)
from tutor_cli.realtime.conversation import Conversation
from tutor_cli.realtime.pricing import cost_usd

PCM_100MS = base64.b64encode(bytes(4800)).decode()


def where(item: str = "item_1", response: str = "resp_1") -> dict:
    return {"response_id": response, "item_id": item, "output_index": 0, "content_index": 0}


def spoken_reply(text: str, item: str = "item_1", response: str = "resp_1", beta: bool = False):
    prefix = "response.audio" if beta else "response.output_audio"
    yield {"type": "response.created", "response": {"id": response}}
    yield {"type": f"{prefix}_transcript.delta", **where(item, response), "delta": text[:4]}
    yield {"type": f"{prefix}.delta", **where(item, response), "delta": PCM_100MS}
    yield {"type": f"{prefix}_transcript.delta", **where(item, response), "delta": text[4:]}
    yield {"type": f"{prefix}.delta", **where(item, response), "delta": PCM_100MS}
    yield {"type": f"{prefix}.done", **where(item, response)}
    yield {"type": f"{prefix}_transcript.done", **where(item, response), "transcript": text}
    yield {
        "type": "response.done",
        "response": {
            "id": response,
            "status": "completed",
            "usage": {
                "total_tokens": 150,
                "input_tokens": 100,
                "output_tokens": 50,
                "input_token_details": {"text_tokens": 80, "audio_tokens": 20, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 10, "audio_tokens": 40},
            },
        },
    }


def connected(model: str = "m") -> Conversation:
    """A Conversation on an open socket, its session set up (and that event sent)."""
    conv = Conversation(model)
    conv.configure({"type": "realtime"})
    conv.events_to_send()
    return conv


def feed(conv: Conversation, sequence) -> list:
    out = []
    for event in sequence:
        out += conv.receive(event)
    return out


@pytest.mark.parametrize("beta", [False, True], ids=["ga", "beta"])
def test_a_spoken_reply_streams_then_finalises(beta: bool) -> None:
    conv = connected("gpt-realtime")
    updates = feed(conv, spoken_reply("Hola, ¿qué tal?", beta=beta))
    kinds = [type(u).__name__ for u in updates]
    assert kinds == [
        "ResponseState",
        "ResponseState",
        "TutorDelta",
        "AudioChunk",
        "TutorDelta",
        "AudioChunk",
        "TutorFinal",
        "ResponseState",
        "UsageUpdate",
    ]
    assert [u.state for u in updates if isinstance(u, ResponseState)] == [
        "thinking",
        "speaking",
        "done",
    ]
    assert "".join(u.text for u in updates if isinstance(u, TutorDelta)) == "Hola, ¿qué tal?"
    assert sum(len(u.pcm) for u in updates if isinstance(u, AudioChunk)) == 9600
    assert updates[-1] == UsageUpdate(conv.usage, cost_usd("gpt-realtime", conv.usage))
    assert not conv.responding and not conv.busy and conv.events_to_send() == []


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_typed_turn_then_queued_request_released_at_done() -> None:
    conv = connected("gpt-realtime")
    assert conv.send_text("Buenas tardes") == LearnerTurn(None, "Buenas tardes", "typed")
    sent = conv.events_to_send()
    assert types(sent) == ["conversation.item.create", "response.create"]
    for event in sent:
        assert_client_event(event)
    assert conv.busy and conv.events_to_send() == []  # the outbox was emptied
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    # typed while the tutor is answering: the item goes now, the request waits
    conv.send_text("¿Cuánto cuesta?")
    assert types(conv.events_to_send()) == ["conversation.item.create"]
    conv.receive({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    assert types(conv.events_to_send()) == ["response.create"]
    assert conv.responding


def test_plain_queued_requests_coalesce() -> None:
    conv = connected("m")
    conv.request_response()
    conv.request_response()
    conv.request_response()
    assert types(conv.events_to_send()) == ["response.create"]
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    conv.receive({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    assert types(conv.events_to_send()) == ["response.create"]  # one for the two held back
    conv.receive({"type": "response.created", "response": {"id": "r2"}})
    conv.receive({"type": "response.done", "response": {"id": "r2", "status": "completed"}})
    assert conv.events_to_send() == [] and not conv.busy


def test_refused_request_is_asked_again_later() -> None:
    conv = connected("m")
    conv.request_response()
    (create,) = conv.events_to_send()
    # Server VAD started a response the client has not heard of yet: the request is refused.
    error = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "code": "conversation_already_has_active_response",
            "message": "busy",
            "event_id": create["event_id"],
        },
    }
    assert conv.receive(error) == [ServerError("conversation_already_has_active_response", "busy")]
    assert conv.busy and conv.events_to_send() == []
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    conv.receive({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    assert types(conv.events_to_send()) == ["response.create"]


def test_bookkeeping_stays_bounded_over_a_long_lesson() -> None:
    conv = connected("m")
    for n in range(500):
        conv.send_text(f"turn {n}")
        conv.events_to_send()
        conv.receive({"type": "response.created", "response": {"id": f"r{n}"}})
        conv.receive({"type": "response.done", "response": {"id": f"r{n}", "status": "completed"}})
    # An error naming a request answered long ago changes nothing and holds nothing back.
    stale = {"type": "error", "error": {"code": "x", "message": "late", "event_id": "evt_old"}}
    assert conv.receive(stale) == [ServerError("x", "late")]
    assert not conv.busy and conv.events_to_send() == []


def function_call(call_id: str, name: str, status: str = "completed") -> dict:
    return {
        "type": "response.output_item.done",
        "response_id": "r1",
        "output_index": 0,
        "item": {
            "id": f"item_{call_id}",
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": '{"score": 90}',
            "status": status,
        },
    }


def test_tools_run_only_for_completed_calls_and_reply_after_all_outputs() -> None:
    conv = connected("m")
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    ready = conv.receive(function_call("c1", "grade_lesson"))
    assert ready == [ToolCallReady("c1", "grade_lesson", '{"score": 90}', "item_c1")]
    assert conv.receive(function_call("c2", "trigger_quiz")) != []
    assert conv.receive(function_call("c3", "trigger_quiz", status="incomplete")) == []
    conv.receive({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
    assert conv.busy and conv.awaiting_tools
    conv.tool_output("c1", '{"ok": true}')
    first = conv.events_to_send()
    assert types(first) == ["conversation.item.create"]
    conv.tool_output("c2", '{"ok": true}')
    second = conv.events_to_send()
    assert types(second) == ["conversation.item.create", "response.create"]
    for event in first + second:
        assert_client_event(event)


def test_cancelled_response_reports_its_reason() -> None:
    conv = connected("m")
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    (state,) = conv.receive(
        {
            "type": "response.done",
            "response": {
                "id": "r1",
                "status": "cancelled",
                "status_details": {"type": "cancelled", "reason": "turn_detected"},
            },
        }
    )
    assert state == ResponseState("r1", "done", "cancelled", "turn_detected")


def test_interleaved_items_keep_their_own_text() -> None:
    conv = connected("m")
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    for item, text in (("a", "Uno "), ("b", "Two "), ("a", "dos"), ("b", "three")):
        conv.receive({"type": "response.output_text.delta", **where(item), "delta": text})
    finals = conv.receive({"type": "response.output_text.done", **where("b")}) + conv.receive(
        {"type": "response.output_text.done", **where("a"), "text": "Uno dos"}
    )
    assert finals == [TutorFinal("b", "Two three"), TutorFinal("a", "Uno dos")]


def test_barge_in_truncates_what_was_not_heard_only() -> None:
    conv = connected("m")
    feed(conv, spoken_reply("Hola, ¿qué tal?"))  # 200 ms of audio for item_1
    conv.interrupt("item_1", played_ms=120.4, manual_turns=False)
    (truncate,) = conv.events_to_send()
    assert truncate["type"] == "conversation.item.truncate"
    assert (truncate["item_id"], truncate["audio_end_ms"], truncate["content_index"]) == (
        "item_1",
        120,
        0,
    )
    assert_client_event(truncate)
    conv.interrupt("item_1", played_ms=200, manual_turns=False)  # it had finished playing
    conv.interrupt("item_1", played_ms=999, manual_turns=False)
    conv.interrupt(None, played_ms=0, manual_turns=False)
    assert conv.events_to_send() == []
    assert conv.receive(
        {
            "type": "conversation.item.truncated",
            "item_id": "item_1",
            "content_index": 0,
            "audio_end_ms": 120,
        }
    ) == [TutorTruncated("item_1", 120)]


def test_manual_turns_cancel_the_active_response_too() -> None:
    conv = connected("m")
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    conv.receive({"type": "response.output_audio.delta", **where(), "delta": PCM_100MS})
    conv.interrupt("item_1", played_ms=50, manual_turns=True)
    assert types(conv.events_to_send()) == ["response.cancel", "conversation.item.truncate"]


def test_spoken_learner_turn_and_its_transcript() -> None:
    conv = connected("m")
    assert conv.receive(
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": "u1"}
    ) == [SpeechStarted("u1", 100)]
    added = {
        "type": "conversation.item.added",
        "item": {
            "id": "u1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio"}],
        },
    }
    assert conv.receive(added) == [LearnerTurn("u1", None, "speech")]
    assert conv.receive({**added, "type": "conversation.item.done"}) == []
    done = conv.receive(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "u1",
            "content_index": 0,
            "transcript": "hola",
        }
    )
    assert done == [LearnerTranscript("u1", "hola")]
    failed = conv.receive(
        {
            "type": "conversation.item.input_audio_transcription.failed",
            "item_id": "u2",
            "content_index": 0,
            "error": {"message": "no recogniser"},
        }
    )
    assert failed == [LearnerTranscript("u2", None, "no recogniser")]


def test_unknown_and_malformed_events_are_survived() -> None:
    conv = connected()
    assert conv.receive({"type": "response.brand_new", "x": 1}) == [
        UnknownEvent("response.brand_new")
    ]
    assert conv.receive({"no": "type"}) == [MalformedEvent("(none)", "the event has no 'type'")]
    assert (
        conv.receive({"type": "response.output_audio.delta", **where(), "delta": "!!!"})[0].code
        == "bad_audio"
    )
    assert conv.receive({"type": "error"}) == [ServerError(None, "unknown error")]
    assert conv.receive({"type": "rate_limits.updated", "rate_limits": []}) == []


MALFORMED = [
    {"type": "response.created", "response": "oops"},
    {"type": "response.output_item.done", "response_id": "r", "item": [1, 2]},
    {"type": "response.done", "response": {"id": "r", "usage": {"input_token_details": "x"}}},
    {
        "type": "response.done",
        "response": {"id": "r", "usage": {"output_token_details": {"text_tokens": 10**400}}},
    },
    {"type": "session.updated", "session": {"modalities": 5}},
    {"type": "conversation.item.truncated", "item_id": "i", "audio_end_ms": "abc"},
    {"type": "input_audio_buffer.speech_started", "audio_start_ms": float("nan")},
    {"type": "response.output_text.delta", "item_id": "i", "delta": 5},
    {"type": "error", "error": {"code": 7, "message": "x"}},
]


@pytest.mark.parametrize("event", MALFORMED, ids=[e["type"] for e in MALFORMED])
def test_known_events_with_wrong_field_types_are_skipped(event: dict) -> None:
    conv = connected()
    conv.request_response()
    conv.events_to_send()
    (skipped,) = conv.receive(event)
    assert isinstance(skipped, MalformedEvent) and skipped.type == event["type"]
    assert skipped.problem.startswith("'")  # names the field
    # nothing changed: the request is still waiting, and a proper reply still works
    assert conv.responding and conv.events_to_send() == []
    feed(conv, spoken_reply("Hola"))
    assert not conv.busy


def test_tool_arguments_sent_as_an_object_still_reach_the_tool() -> None:
    conv = connected()
    conv.receive({"type": "response.created", "response": {"id": "r1"}})
    event = function_call("c1", "grade_lesson")
    event["item"]["arguments"] = {"score": 90}
    assert conv.receive(event) == [ToolCallReady("c1", "grade_lesson", '{"score": 90}', "item_c1")]


def test_history_for_a_new_socket_and_the_lost_reply() -> None:
    conv = connected("m")
    conv.send_text("Hola")
    feed(conv, spoken_reply("¿Para dónde?"))
    conv.send_text("Al centro")
    conv.receive({"type": "response.created", "response": {"id": "r2"}})
    conv.connection_lost()  # a reply was in progress: it is owed
    assert conv.busy and not conv.responding and conv.events_to_send() == []
    resumed = conv.resume({"type": "realtime"})
    sent = conv.events_to_send()
    assert types(sent) == ["session.update", *["conversation.item.create"] * 3, "response.create"]
    history = sent[1:4]
    assert [(e["item"]["role"], e["item"]["content"][0].get("text")) for e in history] == [
        ("user", "Hola"),
        ("assistant", "¿Para dónde?"),
        ("user", "Al centro"),
    ]
    assert resumed.history_event_ids == tuple(e["event_id"] for e in history)
    assert resumed.reply_requested
    for event in sent:
        assert_client_event(event)
    # A second drop with nothing under way owes nothing.
    conv.receive({"type": "response.created", "response": {"id": "r3"}})
    conv.receive({"type": "response.done", "response": {"id": "r3", "status": "completed"}})
    conv.connection_lost()
    assert not conv.busy and not conv.resume({"type": "realtime"}).reply_requested


def test_usage_accumulates_into_a_cost() -> None:
    conv = connected("gpt-realtime")
    feed(conv, spoken_reply("Hola"))
    feed(conv, spoken_reply("Adiós", item="item_2", response="resp_2"))
    assert conv.usage.responses == 2
    assert (conv.usage.text_in, conv.usage.audio_in, conv.usage.text_out, conv.usage.audio_out) == (
        160,
        40,
        20,
        80,
    )
    expected = (160 * 4 + 40 * 32 + 20 * 16 + 80 * 64) / 1_000_000
    assert cost_usd("gpt-realtime", conv.usage) == pytest.approx(expected)
    assert cost_usd("gpt-realtime-2025-08-28", conv.usage) == pytest.approx(expected)
    assert cost_usd("some-other-model", conv.usage) is None
    # An engine that does not bill has no cost, whatever model it is given.
    unbilled = Conversation("gpt-realtime", billed=False)
    unbilled.configure({})
    (usage,) = [u for u in feed(unbilled, spoken_reply("Hola")) if isinstance(u, UsageUpdate)]
    assert usage.total.responses == 1 and usage.cost_usd is None


def test_a_turn_typed_while_disconnected_goes_out_with_the_history() -> None:
    conv = connected()
    conv.connection_lost()
    assert conv.send_text("¿Sigue ahí?") == LearnerTurn(None, "¿Sigue ahí?", "typed")
    assert conv.events_to_send() == [] and conv.busy  # nowhere to send it yet: it is kept
    conv.append_audio(bytes(960))
    assert conv.events_to_send() == []  # mic audio without a socket is simply gone
    resumed = conv.resume({"type": "realtime"})
    sent = conv.events_to_send()
    assert types(sent) == ["session.update", "conversation.item.create", "response.create"]
    assert sent[1]["item"]["content"][0]["text"] == "¿Sigue ahí?"
    assert resumed.reply_requested


def test_a_silent_engine_is_given_up_on_and_the_next_request_goes_out() -> None:
    conv = connected()
    conv.receive({"type": "response.created", "response": {"id": "r1"}})  # then nothing
    conv.send_text("¿Hola?")
    assert types(conv.events_to_send()) == ["conversation.item.create"]  # the reply waits
    assert conv.abandon_reply()
    cancel, create = conv.events_to_send()
    assert (cancel["type"], cancel["response_id"]) == ("response.cancel", "r1")
    assert create["type"] == "response.create"
    for event in (cancel, create):
        assert_client_event(event)
    # The abandoned response's late news does not end the new one.
    late = {"type": "response.done", "response": {"id": "r1", "status": "cancelled"}}
    assert conv.receive(late) == []
    conv.receive({"type": "response.created", "response": {"id": "r2"}})
    assert conv.responding
    assert not connected().abandon_reply()  # nothing to give up on
