"""Faults from the engine's side, each on a real loopback socket: the call shows one line,
goes on where it can, and always closes its log (a `call_ended` record) and its progress row.

Every test is bounded by `asyncio.wait_for`: a hang fails it rather than stalling the suite."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from websockets.asyncio.server import ServerConnection

from tests.call.fake_engine import (
    Ended,
    client_events,
    fake_engine,
    greet,
    run_call,
    send_all,
    text_reply,
)
from tutor_cli.lesson.updates import ConnectionState, ServerError
from tutor_cli.tools.registry import ToolRegistry

HANG = 60  # seconds: far past every timeout a test sets; reaching it means a hang

GRADE = {"score": 50, "goals_achieved": [], "errors": [], "feedback": "Bien.", "next_steps": []}


def closed_properly(ended: Ended) -> None:
    """The log ends with the call's end, and the progress row is closed."""
    last = ended.records[-1].event
    assert isinstance(last, dict) and last["type"] == "tutor.call_ended"
    assert ended.row["ended_at"] is not None


def run(handler: Any, turns: list[str], **options: Any) -> Ended:
    async def main() -> Ended:
        async with fake_engine(handler) as url:
            return await run_call(url, turns, **options)

    return asyncio.run(asyncio.wait_for(main(), HANG))


# --- 1. known events whose fields have the wrong types --------------------------------------

MALFORMED: list[dict[str, Any] | str] = [
    {"type": "response.created", "response": "oops"},
    {"type": "response.output_item.done", "response_id": "r1", "item": [1, 2]},
    {"type": "response.done", "response": {"id": "rx", "usage": {"input_token_details": "x"}}},
    '{"type": "response.done", "response": {"id": "ry", "usage": {"output_token_details": '
    '{"text_tokens": ' + "9" * 400 + "}}}}",
    {"type": "session.updated", "session": {"modalities": 5}},
    {"type": "conversation.item.truncated", "item_id": "i9", "audio_end_ms": "abc"},
    '{"type": "input_audio_buffer.speech_started", "audio_start_ms": NaN, "item_id": "u1"}',
    "[" * 100_000 + "]" * 100_000,
]


async def junk_then_reply(ws: ServerConnection) -> None:
    await greet(ws)
    creates = 0
    async for event in client_events(ws):
        if event["type"] != "response.create":
            continue
        creates += 1
        if creates == 1:
            await send_all(ws, text_reply("r0", "i0", "¡Buenas!"))
        elif creates == 2:
            await send_all(ws, MALFORMED)
            # a lone surrogate in a delta, as JSON can escape one
            where = '"response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0'
            lone = '{"type": "response.output_text.delta", ' + where + ', "delta": "a\\ud800b "}'
            reply = text_reply("r1", "i1", "Hola, ", "bienvenido.")
            await send_all(ws, [reply[0], lone, *reply[1:]])
        else:
            await send_all(ws, text_reply(f"r{creates}", f"i{creates}", "Chao."))


def test_malformed_events_are_logged_reported_once_and_skipped(tutor_home: Any) -> None:
    ended = run(junk_then_reply, ["Hola"])
    assert ended.summary.failure is None
    assert "Hola, bienvenido." in ended.view.text  # the good reply after the junk
    assert "a\ufffdb" in ended.view.text  # the lone surrogate became U+FFFD
    skipped = ended.local("tutor.event_skipped")
    assert len(skipped) == 7 and all(s["problem"] for s in skipped)  # each known-type one
    told = [u for u in ended.view.updates if isinstance(u, ServerError)]
    assert [u.code for u in told].count("malformed_event") == 1  # told once
    assert "not a JSON object" in ended.view.text  # the one nested past sense
    closed_properly(ended)


# --- 2. tool arguments sent as an object; a tool run that fails ------------------------------


def grade_call_with(arguments: Any) -> Any:
    async def engine(ws: ServerConnection) -> None:
        await greet(ws)
        creates = 0
        async for event in client_events(ws):
            if event["type"] != "response.create":
                continue
            creates += 1
            if creates != 1:
                await send_all(ws, text_reply(f"r{creates}", f"i{creates}", "Gracias."))
                continue
            item = {
                "id": "f1",
                "type": "function_call",
                "call_id": "c1",
                "name": "grade_lesson",
                "arguments": arguments,
                "status": "completed",
            }
            await send_all(
                ws,
                [
                    {"type": "response.created", "response": {"id": "r1"}},
                    {"type": "response.output_item.done", "response_id": "r1", "item": item},
                    {"type": "response.done", "response": {"id": "r1", "status": "completed"}},
                ],
            )

    return engine


def test_tool_arguments_as_an_object_still_run_the_tool(tutor_home: Any) -> None:
    ended = run(grade_call_with(GRADE), [], reply_timeout=5)
    assert ended.summary.grade is not None and ended.summary.grade["score"] == 50
    (output,) = [e for e in ended.sent("conversation.item.create") if "output" in e["item"]]
    assert json.loads(output["item"]["output"])["ok"] is True
    closed_properly(ended)


class BrokenRegistry(ToolRegistry):
    async def run(self, name: str, arguments: str, ctx: Any) -> Any:
        raise RuntimeError("the registry itself broke")


def test_a_failing_tool_run_answers_the_model_with_an_error(tutor_home: Any) -> None:
    async def main() -> Ended:
        from collections import deque

        from tests.call import fake_engine as fe
        from tutor_cli.call.controller import Call
        from tutor_cli.call.headless import from_lines, lesson
        from tutor_cli.call.settings import CallSettings
        from tutor_cli.lesson.scenario import load_scenario
        from tutor_cli.storage.eventlog import read_log
        from tutor_cli.storage.store import ProgressStore

        async with fake_engine(grade_call_with(json.dumps(GRADE))) as url:
            view = fe.Collect()
            settings = CallSettings(engine=url, text_only=True, reply_timeout=5, grade_timeout=2)
            with ProgressStore.open_default() as store:
                scenario = load_scenario(fe.SCENARIOS / "a1_taxi_bogota.json")
                registry = BrokenRegistry([])
                call = Call(scenario, settings, view, store=store, registry=registry, env={})
                summary = await lesson(call, from_lines(deque()))
                (row,) = [r for r in store.sessions() if r["log_path"] == str(summary.log_path)]
            return Ended(summary, view, summary.log_path, list(read_log(summary.log_path)), row)

    ended = asyncio.run(asyncio.wait_for(main(), HANG))
    (output,) = [e for e in ended.sent("conversation.item.create") if "output" in e["item"]]
    answer = json.loads(output["item"]["output"])
    assert answer["ok"] is False and "RuntimeError" in answer["error"]
    assert "✗ grade_lesson" in ended.view.text
    closed_properly(ended)


# --- 3. reconnects: bounded, policy closes not retried, turns never dropped ------------------


class Dropper:
    """Accepts every socket, then closes it with `code` (after the opening reply, if asked)."""

    def __init__(self, code: int, reason: str = "", reply_first: bool = False) -> None:
        self.code, self.reason, self.reply_first = code, reason, reply_first
        self.sockets = 0

    async def __call__(self, ws: ServerConnection) -> None:
        self.sockets += 1
        await greet(ws)
        async for event in client_events(ws):
            if event["type"] == "response.create" and self.reply_first and self.sockets == 1:
                await send_all(ws, text_reply("r0", "i0", "¡Buenas!"))
                continue
            await ws.close(self.code, self.reason)
            return


def test_a_server_that_keeps_dropping_is_given_up_on(tutor_home: Any) -> None:
    dropper = Dropper(1011, "try again")
    ended = run(dropper, ["Hola"])
    assert dropper.sockets == 6  # the first and five reconnects: no more
    assert ended.summary.failure is not None and "engine lost" in ended.summary.failure
    states = [u.state for u in ended.view.updates if isinstance(u, ConnectionState)]
    assert states[-1] == "failed"
    closed_properly(ended)


def test_a_policy_close_is_not_retried_and_says_why(tutor_home: Any) -> None:
    dropper = Dropper(1008, "key not allowed for this model")
    ended = run(dropper, ["Hola"])
    assert dropper.sockets == 1
    assert ended.summary.failure is not None
    assert "1008 key not allowed for this model" in ended.summary.failure
    assert "key not allowed for this model" in ended.view.text
    closed_properly(ended)


class DropOnTurn:
    """Drops the first socket when the learner's turn arrives, before answering it; the
    second socket answers whatever it is asked, and remembers what it was sent."""

    def __init__(self) -> None:
        self.sockets = 0
        self.second: list[dict[str, Any]] = []

    async def __call__(self, ws: ServerConnection) -> None:
        self.sockets += 1
        await greet(ws)
        creates = 0
        async for event in client_events(ws):
            if self.sockets == 1:
                if event["type"] == "conversation.item.create":
                    await ws.close(1011, "lost mid-turn")
                    return
                if event["type"] == "response.create":
                    await send_all(ws, text_reply("r0", "i0", "¡Buenas!"))
                continue
            self.second.append(event)
            if event["type"] == "response.create":
                creates += 1
                await send_all(ws, text_reply(f"s{creates}", f"j{creates}", "Claro, al centro."))


def test_a_turn_said_as_the_socket_drops_is_sent_after_the_reconnect(tutor_home: Any) -> None:
    engine = DropOnTurn()
    ended = run(engine, ["Al centro, por favor"])
    assert engine.sockets == 2
    texts = [
        part.get("text")
        for e in engine.second
        if e["type"] == "conversation.item.create"
        for part in e["item"]["content"]
    ]
    assert "Al centro, por favor" in texts  # the turn went out with the history
    assert "Claro, al centro." in ended.view.text
    assert ended.summary.learner_turns == 1 and ended.summary.failure is None
    closed_properly(ended)


class DropAfterOpening:
    """Drops the first socket right after the opening reply, before the learner says
    anything; later sockets answer whatever they are asked."""

    def __init__(self) -> None:
        self.sockets = 0

    async def __call__(self, ws: ServerConnection) -> None:
        self.sockets += 1
        await greet(ws)
        creates = 0
        async for event in client_events(ws):
            if event["type"] != "response.create":
                continue
            creates += 1
            await send_all(ws, text_reply(f"r{self.sockets}{creates}", "i", f"Sí ({creates})."))
            if self.sockets == 1:
                await ws.close(1011, "restarting")
                return


def test_a_turn_said_while_reconnecting_is_not_dropped(tutor_home: Any) -> None:
    engine = DropAfterOpening()
    ended = run(engine, ["Hola, muy bien"], reconnect_backoff=0.5)
    assert engine.sockets == 2
    assert ended.summary.learner_turns == 1 and ended.summary.failure is None
    assert "You: Hola, muy bien" in ended.view.text
    restored = ended.local("tutor.history_restored")
    assert restored and ended.summary.tutor_turns >= 2  # the opening, and the reply to the turn
    closed_properly(ended)


# --- 4. a reply the engine never gives --------------------------------------------------------


class Stalls:
    """Answers the opening, then stalls on the next request (created, then silence), then
    answers every later one."""

    def __init__(self, created: bool) -> None:
        self.created = created

    async def __call__(self, ws: ServerConnection) -> None:
        await greet(ws)
        creates = 0
        async for event in client_events(ws):
            if event["type"] != "response.create":
                continue
            creates += 1
            if creates == 2:
                if self.created:
                    await ws.send(
                        json.dumps({"type": "response.created", "response": {"id": "r2"}})
                    )
                continue  # and then nothing
            await send_all(ws, text_reply(f"r{creates}", f"i{creates}", f"Respuesta {creates}."))


def test_a_stalled_reply_is_cancelled_and_the_call_goes_on(tutor_home: Any) -> None:
    for created in (True, False):
        ended = run(Stalls(created), ["Primera", "Segunda"], reply_timeout=1.5, grade_timeout=2)
        assert "did not answer within 1.5 s" in ended.view.text
        assert "Respuesta 3." in ended.view.text  # the next turn was sent and answered
        cancels = ended.sent("response.cancel")
        assert [c.get("response_id") for c in cancels] == (["r2"] if created else [])
        assert ended.local("tutor.reply_abandoned")
        closed_properly(ended)


def test_ending_during_a_stalled_reply_waits_one_grade_timeout(tutor_home: Any) -> None:
    # The learner ends the call (Ctrl+C) while a reply has stalled and the reply timeout is
    # far away: the grade request must not queue behind the stall for a second timeout.
    ended = run(Stalls(created=True), ["Primera"], reply_timeout=60, grade_timeout=3, stop_after=1)
    assert ended.sent("response.cancel")[0]["response_id"] == "r2"  # the stall, cancelled
    stopped = next(r.t for r in ended.records if r.event == ended.sent("response.cancel")[0])
    ended_at = ended.records[-1].t
    assert stopped is not None and ended_at is not None
    # one grade wait (3 s) for the stalled reply, then the grade asked at once: not two
    assert ended_at - stopped < 3
    closed_properly(ended)


# --- 7, 8. secrets: split across deltas, in the engine's URL ---------------------------------

KEY = "tek-SECRET-0123456789abcdef"


async def echoes_the_key_in_pieces(ws: ServerConnection) -> None:
    await greet(ws)
    creates = 0
    async for event in client_events(ws):
        if event["type"] != "response.create":
            continue
        creates += 1
        key = ws.request.headers.get("Authorization", "").removeprefix("Bearer ")
        # the key cut three ways, one piece per delta, inside a sentence
        pieces = ["Tu clave es ", key[:9], key[9:17], key[17:] + ", ¿verdad?"]
        await send_all(ws, text_reply(f"r{creates}", f"i{creates}", *pieces))


def never_shown(ended: Ended, secret: str) -> None:
    log = ended.log.read_text(encoding="utf-8")
    for text in (ended.view.text, log):
        assert secret not in text
        assert secret[:9] not in text and secret[9:17] not in text and secret[17:] not in text


def test_a_secret_split_across_deltas_never_reaches_the_screen_or_the_log(
    tutor_home: Any,
) -> None:
    ended = run(echoes_the_key_in_pieces, ["Hola"], env={"TUTOR_ENGINE_KEY": KEY})
    assert "Tu clave es [redacted]" in ended.view.text and ", ¿verdad?" in ended.view.text
    never_shown(ended, KEY)
    closed_properly(ended)


def test_a_password_in_the_engine_url_is_never_shown_or_logged(tutor_home: Any) -> None:
    async def main() -> Ended:
        async with fake_engine(junk_free_replies) as url:
            with_password = url.replace("ws://", "ws://alice:hunter2-pass@")
            return await run_call(with_password, ["Hola"])

    ended = asyncio.run(asyncio.wait_for(main(), HANG))
    assert re.search(r"connected: 127\.0\.0\.1:\d+ \(ws://127\.0\.0\.1:", ended.view.text)
    log = ended.log.read_text(encoding="utf-8")
    for text in (ended.view.text, log, str(ended.summary)):
        assert "hunter2-pass" not in text and "alice:" not in text
    closed_properly(ended)


async def junk_free_replies(ws: ServerConnection) -> None:
    await greet(ws)
    creates = 0
    async for event in client_events(ws):
        if event["type"] == "response.create":
            creates += 1
            await send_all(ws, text_reply(f"r{creates}", f"i{creates}", "Vale."))


# --- 9. a frame past any sensible size ---------------------------------------------------------


class Oversized:
    """Sends a 20 MiB delta on the first socket; answers normally on the next."""

    def __init__(self) -> None:
        self.sockets = 0

    async def __call__(self, ws: ServerConnection) -> None:
        self.sockets += 1
        await greet(ws)
        creates = 0
        async for event in client_events(ws):
            if event["type"] != "response.create":
                continue
            creates += 1
            if self.sockets == 1 and creates == 2:
                where = {"response_id": "big", "item_id": "big", "output_index": 0}
                delta = {"type": "response.output_audio.delta", **where, "content_index": 0}
                await ws.send(json.dumps({**delta, "delta": "A" * (20 * 2**20)}))
                continue
            await send_all(ws, text_reply(f"r{self.sockets}{creates}", "i", "Vale."))


def test_an_oversized_frame_is_refused_reported_and_survived(tutor_home: Any) -> None:
    engine = Oversized()
    ended = run(engine, ["Hola"])
    assert engine.sockets == 2  # refused, then a new socket
    assert "the engine sent a frame over 16 MiB" in ended.view.text
    assert ended.summary.failure is None and ended.summary.learner_turns == 1
    closed_properly(ended)
