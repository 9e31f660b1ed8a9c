"""The offline engine's websocket front end, over real loopback sockets: the handshake, a
client that vanishes, and whole lessons held by our test client and by the official SDK.
What the engine says is tested in memory (test_protocol, test_responder, test_conversation_pair).
"""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tests.engine.hostile import DEEP_ARRAY, LONE_SURROGATE
from tests.engine.probe import (
    Event,
    Probe,
    answer_tools,
    audio_of,
    configure,
    of_type,
    reply_text,
    say,
    tool_calls,
)
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.errors import BadInput
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import SessionOptions, session_config
from tutor_cli.realtime import events


def with_engine(body: Callable[[OfflineEngine], Awaitable[None]], **kwargs: Any) -> None:
    """Run `body` with a fresh engine on a free loopback port."""

    async def main() -> None:
        async with OfflineEngine(port=0, **{"pace": 0.0, **kwargs}) as engine:
            await asyncio.wait_for(body(engine), 120)

    asyncio.run(main())


async def lesson_probe(engine: OfflineEngine, scenario_id: str, modality: Any) -> Probe:
    probe = await Probe.open(engine, f"?model=gpt-realtime&scenario={scenario_id}")
    await configure(probe, scenario_id, modality)
    return probe


def test_binds_loopback_by_default() -> None:
    assert OfflineEngine().host == "127.0.0.1"


def test_unknown_default_scenario_fails_at_start() -> None:
    with pytest.raises(BadInput, match="unknown scenario"):
        OfflineEngine(scenario="nope")


def test_handshake_checks_path_token_and_scenario() -> None:
    async def body(engine: OfflineEngine) -> None:
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
        with pytest.raises(InvalidStatus, match="404"):
            await connect(f"{base}/elsewhere", **auth)

    with_engine(body, token="s3cret")


def test_a_full_spoken_lesson_over_a_socket() -> None:
    async def body(engine: OfflineEngine) -> None:
        scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
        probe = await lesson_probe(engine, scenario.id, "audio")
        await probe.send(events.response_create())
        opening = await probe.until("response.done")
        assert scenario.opening in reply_text(opening)
        assert len(audio_of(opening)) > 24000  # the engine's own voice: over half a second
        got: list[Event] = []
        for step in scenario.steps:
            got = await say(probe, step.model_answer)
        got = await answer_tools(probe, got, {"trigger_quiz": '{"correct": 3, "total": 4}'})
        (grade,) = tool_calls(got)
        assert json.loads(grade["arguments"])["score"] == 100
        closing = await answer_tools(probe, got, {"grade_lesson": '{"stored": true}'})
        assert reply_text(closing) and not tool_calls(closing)
        await probe.close()

    with_engine(body)


def test_hostile_frames_on_a_socket_get_errors_and_the_lesson_goes_on() -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
        for frame in (DEEP_ARRAY, LONE_SURROGATE):
            await probe.send(frame)
            error = (await probe.until("error"))[-1]["error"]
            assert error["type"] == "invalid_request_error"
        await probe.send(events.response_create())
        got = await probe.until("response.done")
        assert got[-1]["response"]["status"] == "completed" and "Jairo" in reply_text(got)
        await probe.close()

    with_engine(body)


def test_a_frame_over_16_mib_is_refused_with_a_close_that_says_why() -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await lesson_probe(engine, "a1_taxi_bogota", "text")
        await probe.send("x" * (16 * 2**20 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await probe.until("never")
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        assert "16777216" in closed.value.rcvd.reason
        again = await lesson_probe(engine, "a1_taxi_bogota", "text")  # the engine goes on
        await again.close()

    with_engine(body)


def test_frames_are_not_compressed() -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await Probe.open(engine)  # the client offers permessage-deflate by default
        assert probe.ws.response is not None
        assert "Sec-WebSocket-Extensions" not in probe.ws.response.headers
        await probe.close()

    with_engine(body)


def test_a_closed_session_leaves_nothing_behind() -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
        await say(probe, "Buenas tardes")
        (session,) = engine.sessions
        gone = weakref.ref(session)
        del session
        await probe.close()
        for _ in range(100):
            if not engine.sessions:
                break
            await asyncio.sleep(0.01)
        gc.collect()
        assert gone() is None  # the session, and every byte of audio it held, is freed

    with_engine(body)


@pytest.mark.slow
def test_a_client_vanishing_mid_response_ends_its_session_only() -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await lesson_probe(engine, "a1_taxi_bogota", "audio")
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
        assert of_type(again.seen, "session.created")
        await again.close()

    with_engine(body, pace=1.0)


def test_the_official_sdk_client_holds_a_lesson() -> None:
    from openai import AsyncOpenAI

    async def body(engine: OfflineEngine) -> None:
        scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
        client = AsyncOpenAI(api_key="x", base_url=engine.sdk_base_url)
        async with client.realtime.connect(
            model="gpt-realtime", extra_query={"scenario": "a1_taxi_bogota"}
        ) as conn:
            session = session_config(scenario, SessionOptions(output_modalities="text"))
            await conn.session.update(session=session)

            async def reply() -> tuple[str, list]:
                text, calls = "", []
                async for event in conn:
                    assert_server_event(event.to_dict())
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

    with_engine(body)
