"""Driving the engine's protocol by hand: client events in, every event out checked against
the SDK, and responses streamed synchronously as a responder would stream them."""

from __future__ import annotations

import json
from typing import Any

from tests.conformance import assert_server_event
from tests.conftest import SCENARIOS
from tutor_cli.engine.protocol import EngineProtocol, Output, Respond
from tutor_cli.engine.streaming import Response
from tutor_cli.engine.tutor import CallTool, Say
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import SessionOptions, session_config
from tutor_cli.realtime import events
from tutor_cli.realtime.events import BYTES_PER_MS

Event = dict[str, Any]
TAXI = "a1_taxi_bogota"


def checked(outputs: list[Output]) -> list[Output]:
    for output in outputs:
        if isinstance(output, dict):
            assert_server_event(output)
    return outputs


def feed(protocol: EngineProtocol, event: Event | str | bytes) -> list[Output]:
    """One client frame in; what comes out, every event checked against the SDK."""
    frame = event if isinstance(event, str | bytes) else json.dumps(event)
    return checked(protocol.receive(frame))


def only_events(outputs: list[Output]) -> list[Event]:
    assert all(isinstance(o, dict) for o in outputs), outputs
    return [o for o in outputs if isinstance(o, dict)]


def kinds(outputs: list[Output]) -> list[str]:
    return [o["type"] if isinstance(o, dict) else type(o).__name__ for o in outputs]


def lesson(modality: str = "text", **options: Any) -> EngineProtocol:
    """A taxi lesson's session, set up as the client sets it up."""
    scenario = load_scenario(SCENARIOS / f"{TAXI}.json")
    protocol = EngineProtocol(scenario, "gpt-realtime")
    checked(protocol.start())
    update = session_config(scenario, SessionOptions(output_modalities=modality, **options))
    assert kinds(feed(protocol, events.session_update(update))) == ["session.updated"]
    return protocol


def respond(outputs: list[Output]) -> Response:
    (job,) = [o for o in outputs if isinstance(o, Respond)]
    return job.response


def stream(protocol: EngineProtocol, response: Response, audio_ms: int = 0) -> list[Event]:
    """Stream a response as a responder would, but synchronously and all at once: each spoken
    message gets `audio_ms` of silence."""
    out = protocol.response_started(response)
    for index, move in enumerate(response.moves):
        if response.cancel_reason:
            break
        if isinstance(move, Say):
            message, opened = protocol.open_message(response, index)
            out += opened
            if message.spoken:
                out += protocol.transcript_delta(message, move.text)
                for _ in range(audio_ms // 100):
                    out += protocol.audio_delta(message, bytes(100 * BYTES_PER_MS))
            else:
                out += protocol.text_delta(message, move.text)
            out += protocol.close_message(message)
        else:
            assert isinstance(move, CallTool)
            out += protocol.tool_call(response, index, move)
    out += protocol.response_finished(response)
    protocol.response_closed(response)
    return only_events(checked(list(out)))


def reply(protocol: EngineProtocol, event: Event | None = None, audio_ms: int = 0) -> list[Event]:
    """`response.create` (or `event`) and the whole response it starts."""
    return stream(protocol, respond(feed(protocol, event or events.response_create())), audio_ms)
