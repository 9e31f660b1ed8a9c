"""The offline engine over real loopback sockets, every server event checked against the SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import SCENARIOS, shipped_ids
from tests.engine.probe import Probe, audio_of, of_type, reply_text, tool_calls
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.realtime import events
from tutor_cli.scenarios import load_scenario
from tutor_cli.session import SessionOptions, session_update


def engine_test(pace: float = 0.0, **kwargs) -> Callable:
    """Run an async test body with a fresh engine on a free loopback port."""

    def wrap(body: Callable[[OfflineEngine], Awaitable[None]]) -> Callable[[], None]:
        def test(*args, **kw) -> None:
            async def main() -> None:
                async with OfflineEngine(port=0, pace=pace, **kwargs) as engine:
                    await asyncio.wait_for(body(engine, *args, **kw), 120)

            asyncio.run(main())

        test.__name__ = body.__name__
        return test

    return wrap


async def lesson_probe(engine: OfflineEngine, scenario_id: str, modality: str) -> Probe:
    probe = await Probe.open(engine, f"?model=gpt-realtime&scenario={scenario_id}")
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    await probe.send(session_update(scenario, SessionOptions(output_modalities=modality)))
    await probe.until("session.updated")
    return probe


async def say(probe: Probe, text: str) -> list[dict]:
    await probe.send(events.user_text(text))
    await probe.send(events.response_create())
    return await probe.until("response.done")


async def answer_tools(probe: Probe, got: list[dict], outputs: dict[str, str]) -> list[dict]:
    for call in tool_calls(got):
        await probe.send(events.function_call_output(call["call_id"], outputs[call["name"]]))
    await probe.send(events.response_create())
    return await probe.until("response.done")


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_full_scripted_lesson_for_every_scenario(scenario_id: str) -> None:
    @engine_test()
    async def body(engine: OfflineEngine) -> None:
        scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
        probe = await lesson_probe(engine, scenario_id, "audio")
        await probe.send(events.response_create())
        opening = await probe.until("response.done")
        assert scenario.opening in reply_text(opening)
        assert len(audio_of(opening)) > 24000  # more than half a second of speech
        got: list[dict] = []
        for step in scenario.steps:
            got = await say(probe, step.model_answer)
            assert got[-1]["response"]["status"] == "completed"
        assert [c["name"] for c in tool_calls(got)] == ["trigger_quiz"]
        got = await answer_tools(probe, got, {"trigger_quiz": '{"correct": 3, "total": 4}'})
        (grade,) = tool_calls(got)
        assert grade["name"] == "grade_lesson"
        arguments = json.loads(grade["arguments"])
        assert arguments["score"] == 100 and arguments["errors"] == []
        assert arguments["goals_achieved"] == scenario.goals
        closing = await answer_tools(probe, got, {"grade_lesson": '{"stored": true}'})
        assert reply_text(closing) and not tool_calls(closing)
        assert all(
            len(e["delta"]) <= 6400 for e in of_type(probe.seen, "response.output_audio.delta")
        )  # at most 100 ms (4800 bytes) of audio per delta, base64-encoded
        await probe.close()

    body()


@engine_test()
async def test_opening_audio_is_real_speech(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    await probe.send(events.response_create())
    got = await probe.until("response.done")
    pcm = np.frombuffer(audio_of(got), dtype="<i2").astype(np.float64) / 32768
    frames = pcm[: len(pcm) // 480 * 480].reshape(-1, 480)  # 20 ms frames at 24 kHz
    voiced = frames[np.sqrt((frames**2).mean(axis=1)) > 0.01]
    assert len(voiced) * 0.02 > 0.5  # over half a second above -40 dBFS
    kinds = [e["type"] for e in got]
    order = [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_audio_transcript.delta",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    assert [k for k in dict.fromkeys(kinds) if k in order] == order
    usage = got[-1]["response"]["usage"]
    assert usage["output_token_details"]["audio_tokens"] > 0 and usage["input_tokens"] > 0


@engine_test()
async def test_text_modality_and_per_response_overrides(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    await probe.send(events.response_create(output_modalities=["text"]))
    got = await probe.until("response.done")
    assert of_type(got, "response.output_text.delta") and not audio_of(got)
    await probe.send(events.response_create(instructions='Say: "Un momento, por favor."'))
    got = await probe.until("response.done")
    assert reply_text(got) == "Un momento, por favor."
    await probe.send(events.response_create(tool_choice=events.force_tool("grade_lesson")))
    got = await probe.until("response.done")
    assert [c["name"] for c in tool_calls(got)] == ["grade_lesson"]
    item = of_type(got, "response.output_item.done")[0]["item"]
    assert item["type"] == "function_call" and item["status"] == "completed"
    await probe.send(events.response_create(tool_choice="none", output_modalities=["text"]))
    got = await probe.until("response.done")
    assert not tool_calls(got)


@engine_test()
async def test_session_update_merges(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    before = of_type(probe.seen, "session.updated")[-1]["session"]
    await probe.send(
        events.session_update({"type": "realtime", "audio": {"output": {"speed": 1.2}}})
    )
    after = (await probe.until("session.updated"))[-1]["session"]
    assert after["audio"]["output"]["speed"] == 1.2
    assert after["audio"]["output"]["voice"] == before["audio"]["output"]["voice"] == "ash"
    assert after["instructions"] == before["instructions"]
    assert after["audio"]["input"]["turn_detection"] == before["audio"]["input"]["turn_detection"]


@engine_test()
async def test_truncate_cuts_audio_and_transcript(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    await probe.send(events.response_create())
    got = await probe.until("response.done")
    item_id = of_type(got, "response.output_item.done")[0]["item"]["id"]
    total_ms = len(audio_of(got)) // 48
    await probe.send(events.item_truncate(item_id, total_ms + 500))
    (error,) = of_type(await probe.until("error"), "error")
    assert "already shorter than" in error["error"]["message"]
    await probe.send(events.item_truncate(item_id, 1000))
    truncated = (await probe.until("conversation.item.truncated"))[-1]
    assert truncated["audio_end_ms"] == 1000
    await probe.send(events.item_retrieve(item_id))
    item = (await probe.until("conversation.item.retrieved"))[-1]["item"]
    heard = item["content"][0]["transcript"]
    assert 0 < len(heard) < len(reply_text(got))
    assert reply_text(got).startswith(heard)


@engine_test()
async def test_items_delete_and_retrieve(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
    await probe.send(events.user_text("Hola"))
    added = (await probe.until("conversation.item.done"))[-1]["item"]
    assert added["content"][0]["text"] == "Hola"
    await probe.send(events.item_delete(added["id"]))
    assert (await probe.until("conversation.item.deleted"))[-1]["item_id"] == added["id"]
    await probe.send(events.item_retrieve(added["id"]))
    assert (await probe.until("error"))[-1]["error"]["code"] == "item_not_found"


BAD = [
    ("{not json", "invalid_json"),
    (json.dumps(["a", "list"]), "invalid_event"),
    (json.dumps({"no": "type"}), "missing_required_parameter"),
    (json.dumps({"type": "made.up.event", "event_id": "evt_x"}), "invalid_value"),
    (json.dumps({"type": "session.update"}), "missing_required_parameter"),
    (json.dumps({"type": "input_audio_buffer.append", "audio": "***"}), "invalid_value"),
    (json.dumps({"type": "input_audio_buffer.commit"}), "input_audio_buffer_commit_empty"),
    (
        json.dumps({"type": "conversation.item.create", "item": {"type": "mystery"}}),
        "invalid_value",
    ),
    (
        json.dumps({"type": "conversation.item.truncate", "item_id": "x", "audio_end_ms": 5}),
        "item_not_found",
    ),
    (json.dumps({"type": "response.cancel"}), "response_cancel_not_active"),
    (
        json.dumps(
            {
                "type": "response.create",
                "response": {"tool_choice": {"type": "function", "name": "nope"}},
            }
        ),
        "invalid_value",
    ),
]


@engine_test()
async def test_bad_input_gets_error_events_and_the_session_goes_on(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
    for frame, code in BAD:
        await probe.send(frame)
        error = (await probe.until("error"))[-1]["error"]
        assert error["code"] == code, frame
    assert json.loads(BAD[3][0])["event_id"] == of_type(probe.seen, "error")[3]["error"]["event_id"]
    # while a response is active, another response.create is refused
    await probe.send(events.response_create())
    await probe.send(events.response_create())
    got = await probe.until("error")
    assert got[-1]["error"]["code"] == "conversation_already_has_active_response"
    await probe.until("response.done")
    got = await say(probe, "Buenas tardes, muy bien")
    assert "llevo" in reply_text(got)  # still teaching


@engine_test(pace=1.0)
async def test_client_cancel_and_vanishing_client(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    await probe.send(events.response_create())
    await probe.until("response.output_audio.delta")
    await probe.send(events.response_cancel())
    done = (await probe.until("response.done"))[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "client_cancelled"
    await probe.send(events.response_create())
    await probe.until("response.output_audio.delta")
    await probe.ws.close()  # gone mid-response
    for _ in range(50):
        if not engine.sessions:
            break
        await asyncio.sleep(0.05)
    assert not engine.sessions
    again = await lesson_probe(engine, "a1_taxi_bogota", "text")
    await again.send(events.response_create())
    assert (await again.until("response.done"))[-1]["response"]["status"] == "completed"


@engine_test(token="s3cret")
async def test_handshake_checks_path_token_and_scenario(engine: OfflineEngine) -> None:
    auth = {"additional_headers": {"Authorization": "Bearer s3cret"}}
    probe = await Probe.open(engine, "?scenario=a1_taxi_bogota", **auth)
    await probe.close()
    with pytest.raises(InvalidStatus, match="401"):
        await Probe.open(engine, "?scenario=a1_taxi_bogota")
    with pytest.raises(InvalidStatus, match="400"):
        await Probe.open(engine, "?scenario=../../etc/passwd", **auth)
    with pytest.raises(InvalidStatus, match="400"):
        await Probe.open(engine, "?scenario=nope", **auth)
    base = engine.url.removesuffix("/v1/realtime")
    from websockets.asyncio.client import connect

    with pytest.raises(InvalidStatus, match="404"):
        await connect(f"{base}/elsewhere", **auth)


@engine_test()
async def test_generic_partner_without_a_scenario(engine: OfflineEngine) -> None:
    probe = await Probe.open(engine)
    await probe.send(events.session_update({"type": "realtime", "output_modalities": ["text"]}))
    await probe.send(events.response_create())
    assert "practice partner" in reply_text(await probe.until("response.done"))
    assert "You said: “I like jazz”" in reply_text(await say(probe, "I like jazz"))


def test_binds_loopback_by_default() -> None:
    assert OfflineEngine().host == "127.0.0.1"


def test_unknown_default_scenario_fails_at_start(tmp_path: Path) -> None:
    from tutor_cli.errors import BadInput

    with pytest.raises(BadInput, match="unknown scenario"):
        OfflineEngine(scenario="nope")


def speech_pcm(text: str, language: str = "es-CO") -> bytes:
    """Real speech from the engine's own voice, to feed back as the learner's microphone."""
    from tutor_cli.engine.tts import Synthesizer

    return b"".join(Synthesizer().synthesize(text, language))


async def stream_audio(probe: Probe, pcm: bytes, chunk_ms: int = 40) -> None:
    step = chunk_ms * 48
    for start in range(0, len(pcm), step):
        await probe.send(events.input_audio_append(pcm[start : start + step]))


SILENCE = bytes(48 * 1200)


@engine_test()
async def test_spoken_turn_is_detected_committed_and_answered(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
    await probe.send(events.response_create())
    await probe.until("response.done")
    await stream_audio(
        probe, SILENCE[: 48 * 400] + speech_pcm("Buenas tardes, muy bien.") + SILENCE
    )
    got = await probe.until("response.done")
    kinds = [e["type"] for e in got]
    for expected in (
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.input_audio_transcription.failed",
        "response.created",
    ):
        assert expected in kinds
    started = of_type(got, "input_audio_buffer.speech_started")[0]
    stopped = of_type(got, "input_audio_buffer.speech_stopped")[0]
    assert 0 <= started["audio_start_ms"] < 400 < stopped["audio_end_ms"]
    assert started["item_id"] == stopped["item_id"]
    # No recogniser for Spanish offline: the spoken turn counts as an attempt and moves on.
    assert "«Buenas tardes. Muy bien, gracias. ¿Y usted?»" in reply_text(got)
    assert "¿Para dónde lo llevo?" in reply_text(got)


@engine_test(pace=1.0)
async def test_speech_during_a_response_cancels_it(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
    await probe.send(events.response_create())
    await probe.until("response.output_audio.delta")
    await stream_audio(probe, speech_pcm("Perdón, un momento por favor."))
    got = await probe.until("response.done")
    assert "input_audio_buffer.speech_started" in [e["type"] for e in got]
    done = got[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"
    assert done["output"][0]["status"] == "incomplete"


@engine_test()
async def test_manual_turns_commit_and_clear(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
    await probe.send(
        events.session_update({"type": "realtime", "audio": {"input": {"turn_detection": None}}})
    )
    await probe.until("session.updated")
    await stream_audio(probe, speech_pcm("Hola."))
    await probe.send(events.input_audio_clear())
    await probe.until("input_audio_buffer.cleared")
    await probe.send(events.input_audio_commit())
    assert (await probe.until("error"))[-1]["error"]["code"] == "input_audio_buffer_commit_empty"
    await stream_audio(probe, speech_pcm("Hola."))
    await probe.send(events.input_audio_commit())
    got = await probe.until("conversation.item.input_audio_transcription.failed")
    assert not of_type(got, "input_audio_buffer.speech_started")  # no VAD in manual mode
    assert of_type(got, "input_audio_buffer.committed")


def test_the_official_sdk_client_holds_a_lesson() -> None:
    from openai import AsyncOpenAI

    @engine_test()
    async def body(engine: OfflineEngine) -> None:
        scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
        client = AsyncOpenAI(api_key="x", base_url=engine.sdk_base_url)
        async with client.realtime.connect(
            model="gpt-realtime", extra_query={"scenario": "a1_taxi_bogota"}
        ) as conn:
            session = session_update(scenario, SessionOptions(output_modalities="text"))["session"]
            await conn.session.update(session=session)

            async def reply() -> tuple[str, list]:
                text, calls = "", []
                async for event in conn:
                    if event.type == "response.output_text.done":
                        text += event.text
                    elif event.type == "response.function_call_arguments.done":
                        calls.append(event)
                    elif event.type == "response.done":
                        return text, calls
                raise AssertionError("connection ended")

            await conn.response.create()
            opening, _ = await reply()
            assert "Jairo" in opening
            for step in scenario.steps:
                await conn.conversation.item.create(
                    item={
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": step.model_answer}],
                    }
                )
                await conn.response.create()
                _, calls = await reply()
            while calls and calls[0].name != "grade_lesson":
                await conn.conversation.item.create(
                    item={
                        "type": "function_call_output",
                        "call_id": calls[0].call_id,
                        "output": "{}",
                    }
                )
                await conn.response.create()
                _, calls = await reply()
            assert calls and calls[0].name == "grade_lesson"
            assert json.loads(calls[0].arguments)["score"] == 100
            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": calls[0].call_id, "output": "{}"}
            )
            await conn.response.create()
            closing, calls = await reply()
            assert closing and not calls

    body()


@engine_test()
async def test_english_spoken_turns_are_transcribed_offline(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a2_hotel_london", "text")
    await probe.send(events.response_create())
    await probe.until("response.done")
    speech = speech_pcm("Good afternoon. I have a booking.", "en-US")
    await stream_audio(probe, SILENCE[: 48 * 400] + speech + SILENCE)
    got = await probe.until("response.done")
    (completed,) = of_type(got, "conversation.item.input_audio_transcription.completed")
    # pocketsphinx on synthetic speech gets some words wrong; what matters here is that a
    # transcript arrives and the tutor checks it as text instead of an unchecked attempt.
    assert completed["transcript"].strip()
    assert not of_type(got, "conversation.item.input_audio_transcription.failed")
    assert "I heard you" not in reply_text(got)


@engine_test()
async def test_bad_session_values_are_refused_and_the_session_kept(engine: OfflineEngine) -> None:
    probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
    for bad in (
        {"type": "server_vad", "threshold": 7},
        {"type": "server_vad", "silence_duration_ms": "long"},
        "server_vad",
    ):
        update = {"type": "realtime", "audio": {"input": {"turn_detection": bad}}}
        await probe.send(events.session_update(update))
        error = (await probe.until("error"))[-1]["error"]
        assert error["param"] == "session.audio.input.turn_detection"
    await probe.send(events.session_update({"type": "realtime", "output_modalities": ["both"]}))
    assert (await probe.until("error"))[-1]["error"]["param"] == "session.output_modalities"
    await probe.send(events.response_create())
    await probe.until("response.done")
    got = await say(probe, "Hola, muy bien")
    assert "llevo" in reply_text(got)
