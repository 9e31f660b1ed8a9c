"""Drops on either side of the relay, and its time limit: the engine's socket lost mid-reply
(restored, or the learner told why), the learner's socket lost (re-attached with nothing
lost), a resume id the relay does not know, and a lesson that reaches `--max-minutes`.
Every wait has a timeout, so a hang fails the test."""

from __future__ import annotations

import asyncio

from websockets.asyncio.client import connect

from tests.relay.harness import Learner, RecordingUpstream, with_recorded_relay, with_relay
from tutor_cli.realtime import events
from tutor_cli.realtime.relayed import UPSTREAM_RECONNECTING
from tutor_cli.relay.limits import Limits
from tutor_cli.relay.server import Relay

HELLO = "¡Buenas tardes! Muy bien, gracias."
FAST_RETRIES = Limits(upstream_retries=1, upstream_backoff=0.01)


async def turn(learner: Learner, text: str) -> None:
    await learner.send(events.user_text(text))
    await learner.send(events.response_create())


async def gone(relay: Relay) -> None:
    while relay.sessions:
        await asyncio.sleep(0.02)


def test_an_engine_lost_mid_reply_is_reconnected_and_the_conversation_restored() -> None:
    async def body(relay: Relay, upstream: RecordingUpstream) -> None:
        learner = await Learner.open(relay)
        await learner.until("response.done")
        upstream.drop_after = "response.output_audio.delta"
        await turn(learner, HELLO)
        got = await learner.until("error", timeout=10)
        assert got[-1]["error"]["code"] == UPSTREAM_RECONNECTING
        got = await learner.until("response.done", timeout=10)  # the reply asked for again
        assert got[-1]["response"]["status"] == "completed"
        assert upstream.dropped == 1 and len(upstream.authorizations) == 2
        # The new engine session was given the session and the learner's turn again.
        after_drop = upstream.received[upstream.received_types().index("session.update", 1) :]
        assert any(HELLO in str(e) for e in after_drop if e["type"] == "conversation.item.create")
        await turn(learner, "Al hotel Tequendama, por favor.")
        got = await learner.until("response.done", timeout=10)
        assert got[-1]["response"]["status"] == "completed"
        await learner.close()

    with_recorded_relay(body, limits=FAST_RETRIES)


def test_an_engine_that_stays_down_ends_the_lesson_with_a_reason() -> None:
    async def body(relay: Relay, upstream: RecordingUpstream) -> None:
        learner = await Learner.open(relay)
        await learner.until("response.done")
        upstream.drop_after, upstream.refuse_after_drop = "response.output_audio.delta", True
        await turn(learner, HELLO)
        code, reason = await learner.closed(timeout=10)
        assert code == 1014 and "engine" in reason
        await asyncio.wait_for(gone(relay), 10)  # and its session freed

    with_recorded_relay(body, limits=FAST_RETRIES)


def test_a_learner_who_drops_comes_back_to_the_same_lesson_with_nothing_lost() -> None:
    async def body(relay: Relay) -> None:
        learner = await Learner.open(relay)
        resume_id = learner.resume_id
        await learner.until("response.done")
        await turn(learner, HELLO)
        before = await learner.until("response.created", timeout=10)
        learner.ws.transport.abort()  # no close frame: a dropped network, not a goodbye
        await asyncio.sleep(0.3)  # the reply goes on meanwhile
        assert resume_id in relay.sessions
        back = await Learner.open(relay, f"?resume={resume_id}&after={before[-1]['event_id']}")
        assert back.resume_id == resume_id
        got = await back.until("response.done", timeout=10)
        assert got[0]["type"] != "session.created"  # nothing re-created
        assert got[-1]["response"]["id"] == before[-1]["response"]["id"]
        assert got[-1]["response"]["status"] == "completed"
        ids = [e["event_id"] for e in before + got]
        assert len(ids) == len(set(ids))  # nothing twice
        await turn(back, "Al hotel Tequendama, por favor.")  # and the lesson goes on
        got = await back.until("response.done", timeout=10)
        assert got[-1]["response"]["status"] == "completed"
        await back.close()

    with_relay(body)


def test_an_unknown_resume_id_is_closed_1008_with_a_reason() -> None:
    async def body(relay: Relay) -> None:
        async with connect(f"{relay.url}?resume=not-a-session") as ws:
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == 1008
            assert ws.close_reason == "unknown or expired resume id"

    with_relay(body)


def test_a_lesson_at_the_time_limit_is_graded_and_closed_with_a_reason() -> None:
    async def body(relay: Relay) -> None:
        learner = await Learner.open(relay)
        code, reason = await learner.closed(timeout=20)
        assert code == 1000 and "minute limit" in reason
        calls = [e for e in learner.seen if e["type"] == "response.function_call_arguments.done"]
        assert [c["name"] for c in calls] == ["grade_lesson"]
        assert relay.store is not None
        (session,) = relay.store.sessions()
        assert session["grade"] is not None and session["finished"] is False

    with_relay(body, limits=Limits(max_minutes=0.01))  # 0.6 s


def test_a_learner_back_after_the_grace_period_is_closed_1008_with_why() -> None:
    async def body(relay: Relay) -> None:
        learner = await Learner.open(relay)
        resume_id = learner.resume_id
        await learner.until("response.done")
        learner.ws.transport.abort()
        await asyncio.wait_for(gone(relay), 10)  # the grace period ran out
        late = await Learner.open(relay, f"?resume={resume_id}")
        code, reason = await late.closed(timeout=10)
        assert code == 1008 and "away longer than 0.2 s" in reason

    with_relay(body, limits=Limits(grace_s=0.2))
