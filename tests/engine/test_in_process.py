"""The built-in engine joined to its client in memory: frames as JSON text both ways, taken one
at a time, a hang-up that closes normally and leaves nothing running, and an engine fault that
closes the link as a server error closes its socket (1011), so the client reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tests.engine.pair import tone_speech
from tutor_cli.engine.in_process import InProcessEngine, LinkClosed
from tutor_cli.engine.responder import Responder
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.realtime import events
from tutor_cli.realtime.connection import Socket

HANG = 30


def in_process(body: Callable[[InProcessEngine], Awaitable[None]]) -> None:
    """Run `body` with a taxi-lesson engine; afterwards no task may be left running."""

    async def main() -> None:
        scenario = load_scenario(SCENARIOS / "a1_taxi_bogota.json")
        await asyncio.wait_for(body(InProcessEngine(scenario, pace=0.0, speech=tone_speech)), HANG)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


async def next_event(frames: AsyncIterator[str | bytes]) -> dict[str, Any]:
    frame = await anext(frames)
    assert isinstance(frame, str)  # text, as the engine's server sends it
    event: dict[str, Any] = json.loads(frame)
    assert_server_event(event)
    return event


async def until(frames: AsyncIterator[str | bytes], type_: str) -> list[dict[str, Any]]:
    got = [await next_event(frames)]
    while got[-1]["type"] != type_:
        got.append(await next_event(frames))
    return got


async def opened(engine: InProcessEngine) -> tuple[Socket, AsyncIterator[str | bytes]]:
    socket, headers = await engine.open("")
    assert headers == {}  # not a classroom relay
    return socket, aiter(socket)


def test_frames_arrive_in_order_and_a_hang_up_closes_normally() -> None:
    async def body(engine: InProcessEngine) -> None:
        socket, frames = await opened(engine)
        assert (await next_event(frames))["type"] == "session.created"
        update = {"type": "session.update", "session": {"type": "realtime"}}
        await socket.send(json.dumps({**update, "event_id": "first"}))
        await socket.send(json.dumps({**update, "event_id": "second"}))
        await socket.send(json.dumps(events.response_create(output_modalities=["text"])))
        got = await until(frames, "response.done")
        types = [event["type"] for event in got]
        assert types[:2] == ["session.updated", "session.updated"]
        assert types.index("response.created") > 1
        assert got[-1]["response"]["status"] == "completed"
        await socket.close()
        assert (socket.close_code, socket.close_reason) == (1000, "")
        assert [frame async for frame in frames] == []
        with pytest.raises(LinkClosed):
            await socket.send(json.dumps(update))

    in_process(body)


def test_an_event_the_engine_refuses_comes_back_as_an_error() -> None:
    async def body(engine: InProcessEngine) -> None:
        socket, frames = await opened(engine)
        await next_event(frames)  # session.created
        await socket.send(json.dumps({"type": "no.such.event", "event_id": "odd"}))
        await socket.send("not json")
        first, second = await next_event(frames), await next_event(frames)
        assert first["type"] == second["type"] == "error"
        assert first["error"]["event_id"] == "odd"
        assert first["error"]["type"] == second["error"]["type"] == "invalid_request_error"
        await socket.close()

    in_process(body)


def test_a_hang_up_mid_reply_stops_the_engine() -> None:
    async def body(engine: InProcessEngine) -> None:
        socket, frames = await opened(engine)
        await next_event(frames)
        await socket.send(json.dumps(events.response_create()))  # audio: a reply that takes time
        await until(frames, "response.output_audio.delta")
        await socket.close()
        assert socket.close_code == 1000

    in_process(body)


def test_a_fault_in_the_engine_closes_the_link_as_a_server_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(self: Responder, frame: str | bytes) -> None:
        raise RuntimeError("the engine tripped")

    monkeypatch.setattr(Responder, "receive", broken)

    async def body(engine: InProcessEngine) -> None:
        socket, frames = await opened(engine)
        await next_event(frames)
        await socket.send(json.dumps(events.response_create()))
        assert [frame async for frame in frames] == []
        assert socket.close_code == 1011
        assert socket.close_reason is not None and "RuntimeError" in socket.close_reason
        with pytest.raises(LinkClosed):
            await socket.send(json.dumps(events.response_create()))
        again, _ = await engine.open("")  # a reconnect gets a new session
        await again.close()
        await socket.close()
        assert socket.close_code == 1011  # the fault, not the hang-up after it

    in_process(body)
