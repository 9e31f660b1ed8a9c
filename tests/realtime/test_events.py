from __future__ import annotations

import base64

import pytest

from tests.conformance import assert_client_event, assert_server_event
from tutor_cli.realtime import events

BUILT = {
    "session.update": lambda: events.session_update(
        {"type": "realtime", "instructions": "Hola", "output_modalities": ["text"]}
    ),
    "input_audio_buffer.append": lambda: events.input_audio_append(b"\x00\x01" * 480),
    "input_audio_buffer.commit": events.input_audio_commit,
    "input_audio_buffer.clear": events.input_audio_clear,
    "conversation.item.create (user text)": lambda: events.user_text("Buenas tardes"),
    "conversation.item.create (assistant text)": lambda: events.assistant_text("¿A dónde?"),
    "conversation.item.create (tool output)": lambda: events.function_call_output(
        "call_1", '{"ok": true}'
    ),
    "conversation.item.truncate": lambda: events.item_truncate("item_1", 1234),
    "conversation.item.delete": lambda: events.item_delete("item_1"),
    "conversation.item.retrieve": lambda: events.item_retrieve("item_1"),
    "response.create (plain)": events.response_create,
    "response.create (overrides)": lambda: events.response_create(
        instructions="Grade now.",
        output_modalities=["text"],
        tool_choice=events.force_tool("grade_lesson"),
        metadata={"purpose": "grade"},
    ),
    "response.cancel": events.response_cancel,
    "response.cancel (id)": lambda: events.response_cancel("resp_1"),
}


@pytest.mark.parametrize("name", BUILT)
def test_every_builder_makes_a_valid_ga_client_event(name: str) -> None:
    event = BUILT[name]()
    assert_client_event(event)
    assert event["event_id"].startswith("evt_")


def test_event_ids_are_unique() -> None:
    ids = {events.input_audio_commit()["event_id"] for _ in range(100)}
    assert len(ids) == 100


def test_audio_append_is_base64_pcm() -> None:
    pcm = bytes(range(256)) * 4
    assert base64.b64decode(events.input_audio_append(pcm)["audio"]) == pcm


def test_truncate_never_sends_negative_ms() -> None:
    assert events.item_truncate("item_1", -5)["audio_end_ms"] == 0


def test_plain_response_create_has_no_empty_response_object() -> None:
    assert "response" not in events.response_create()


def test_bare_event_direction() -> None:
    assert events.is_client_event_type("response.create")
    assert events.is_client_event_type("input_audio_buffer.append")
    assert not events.is_client_event_type("response.created")
    assert not events.is_client_event_type("input_audio_buffer.committed")


# --- normaliser -------------------------------------------------------------------------------

AUDIO = {"response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0}

RENAMED = [
    (
        {"type": "response.audio.delta", "event_id": "e", **AUDIO, "delta": "AAAA"},
        {"type": "response.output_audio.delta", "event_id": "e", **AUDIO, "delta": "AAAA"},
    ),
    (
        {"type": "response.audio.done", "event_id": "e", **AUDIO},
        {"type": "response.output_audio.done", "event_id": "e", **AUDIO},
    ),
    (
        {"type": "response.audio_transcript.delta", "event_id": "e", **AUDIO, "delta": "Ho"},
        {"type": "response.output_audio_transcript.delta", "event_id": "e", **AUDIO, "delta": "Ho"},
    ),
    (
        {"type": "response.audio_transcript.done", "event_id": "e", **AUDIO, "transcript": "Hola"},
        {
            "type": "response.output_audio_transcript.done",
            "event_id": "e",
            **AUDIO,
            "transcript": "Hola",
        },
    ),
    (
        {"type": "response.text.delta", "event_id": "e", **AUDIO, "delta": "Ho"},
        {"type": "response.output_text.delta", "event_id": "e", **AUDIO, "delta": "Ho"},
    ),
    (
        {"type": "response.text.done", "event_id": "e", **AUDIO, "text": "Hola"},
        {"type": "response.output_text.done", "event_id": "e", **AUDIO, "text": "Hola"},
    ),
]


@pytest.mark.parametrize(("beta", "ga"), RENAMED, ids=[b["type"] for b, _ in RENAMED])
def test_beta_and_ga_names_normalise_to_the_same_event(beta: dict, ga: dict) -> None:
    assert events.normalize_server_event(beta) == [ga]
    assert events.normalize_server_event(ga) == [ga]
    assert_server_event(ga)


def test_beta_item_created_becomes_added_then_done_with_ga_part_types() -> None:
    beta = {
        "type": "conversation.item.created",
        "event_id": "e",
        "previous_item_id": None,
        "item": {
            "id": "i1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "audio", "transcript": "Hola"}, {"type": "text", "text": "x"}],
        },
    }
    added, done = events.normalize_server_event(beta)
    assert [added["type"], done["type"]] == ["conversation.item.added", "conversation.item.done"]
    assert [p["type"] for p in added["item"]["content"]] == ["output_audio", "output_text"]
    assert_server_event(added)
    assert_server_event(done)


def test_ga_item_events_keep_their_shape() -> None:
    ga = {
        "type": "conversation.item.added",
        "event_id": "e",
        "item": {
            "id": "i1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_audio", "transcript": "Hola"}],
        },
    }
    assert events.normalize_server_event(ga) == [ga]


def test_user_items_keep_their_part_types() -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    event = {"type": "response.output_item.done", "item": item}
    assert events.normalize_server_event(event) == [event]


def test_beta_session_fields_move_to_the_ga_shape() -> None:
    beta = {
        "type": "session.created",
        "session": {
            "id": "s",
            "modalities": ["text", "audio"],
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "turn_detection": {"type": "server_vad"},
            "input_audio_transcription": {"model": "whisper-1"},
            "max_response_output_tokens": "inf",
        },
    }
    (ga,) = events.normalize_server_event(beta)
    session = ga["session"]
    assert session["output_modalities"] == ["audio"]
    assert session["max_output_tokens"] == "inf"
    assert session["audio"]["output"] == {
        "voice": "alloy",
        "format": {"type": "audio/pcm", "rate": 24000},
    }
    assert session["audio"]["input"]["turn_detection"] == {"type": "server_vad"}
    assert session["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert "modalities" not in session and "voice" not in session


@pytest.mark.parametrize(
    "event",
    [
        {"type": "brand.new.event", "payload": [1, 2, 3]},
        {"type": "response.output_audio.delta", **AUDIO, "delta": "AA", "obfuscation": "xyz"},
        {"no_type": True},
        {"type": 42},
    ],
)
def test_unknown_types_fields_and_malformed_events_pass_through(event: dict) -> None:
    assert events.normalize_server_event(event) == [event]
