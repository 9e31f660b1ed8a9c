"""Who gets into the relay, and what never gets out of it: refused handshakes and sessions
each with the documented code, and the engine's key in nothing a learner receives or the
relay logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.cli_runner import tutor
from tests.relay.harness import (
    KEY,
    Learner,
    RecordingUpstream,
    book,
    learners,
    with_recorded_relay,
    with_relay,
)
from tutor_cli.realtime import events
from tutor_cli.relay.server import Relay


async def refused_status(relay: Relay, token: str | None, origin: str | None = None) -> int:
    """The HTTP status a handshake is refused with."""
    with pytest.raises(InvalidStatus) as caught:
        await Learner.open(relay, token=token, origin=Origin(origin) if origin else None)
    return caught.value.response.status_code


def test_no_token_or_a_wrong_one_is_refused_with_401(tmp_path: Path) -> None:
    users, tokens = learners(tmp_path, "ana")

    async def body(relay: Relay) -> None:
        assert await refused_status(relay, None) == 401
        assert await refused_status(relay, tokens["ana"] + "x") == 401
        assert await refused_status(relay, "") == 401
        learner = await Learner.open(relay, token=tokens["ana"])  # the right one gets in
        await learner.until("session.created")
        await learner.close()

    with_relay(body, users=book(users))


def test_a_page_from_another_origin_is_refused_with_403(tmp_path: Path) -> None:
    users, tokens = learners(tmp_path, "ana")

    async def body(relay: Relay) -> None:
        evil = "https://evil.example"
        assert await refused_status(relay, tokens["ana"], evil) == 403
        allowed = await Learner.open(relay, token=tokens["ana"], origin="https://school.example")
        await allowed.until("session.created")
        await allowed.close()

    with_relay(body, users=book(users), allowed_origins=["https://school.example"])


def test_a_third_lesson_at_once_and_an_unknown_one_are_closed_1008(tmp_path: Path) -> None:
    users, tokens = learners(tmp_path, "ana", "bo")

    async def body(relay: Relay) -> None:
        first = await Learner.open(relay, token=tokens["ana"])
        second = await Learner.open(relay, token=tokens["ana"])
        for learner in (first, second):
            await learner.until("session.created")
        third = await Learner.open(relay, token=tokens["ana"])
        code, reason = await third.closed()
        assert code == 1008 and "2 lessons open" in reason
        other = await Learner.open(relay, token=tokens["bo"])  # the limit is per learner
        await other.until("session.created")
        unknown = await Learner.open(relay, "?scenario=nope", token=tokens["bo"])
        code, reason = await unknown.closed()
        assert code == 1008 and "nope" in reason
        for learner in (first, second, other):
            await learner.close()

    with_relay(body, users=book(users))


def test_the_engine_key_never_reaches_a_learner_or_the_relay_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def leaky(event: dict[str, object]) -> list[dict[str, object] | str]:
        # An engine that echoes its key back (as some error messages do).
        if event["type"] != "session.updated":
            return []
        message = f"bad key {KEY} for this model"
        return [
            {
                "type": "error",
                "event_id": "evt_leak",
                "error": {"type": "invalid_request_error", "message": message},
            }
        ]

    async def body(relay: Relay, upstream: RecordingUpstream) -> None:
        upstream.extra = leaky
        learner = await Learner.open(relay)
        got = await learner.until("response.done")
        await learner.send(events.user_text("¡Buenas tardes! Muy bien, gracias."))
        await learner.send(events.response_create())
        got += await learner.until("response.done")
        await learner.close()
        assert upstream.authorizations == [f"Bearer {KEY}"]  # the engine was given the key
        assert any(e["type"] == "error" for e in got)  # the leaky event came, redacted
        assert KEY not in json.dumps(got) and KEY not in json.dumps(learner.seen)
        assert relay.store is not None
        (session,) = relay.store.sessions()
        assert KEY not in Path(session["log_path"]).read_text()

    with caplog.at_level(logging.DEBUG, logger="tutor"):  # the relay's own log, all of it
        with_recorded_relay(body)
    assert "tutor.relay" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--host", "0.0.0.0"], "--host"),
        (["--max-minutes", "0"], "--max-minutes"),
        (["--max-sessions-per-user", "0"], "--max-sessions-per-user"),
        (["--upstream", "gopher://x"], "gopher://x"),
    ],
)
def test_bad_relay_flags_are_one_line_and_exit_2(args: list[str], field: str) -> None:
    result = tutor("serve", "--relay", "--port", "0", *args, env={"OPENAI_API_KEY": None})
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert field in line and "Traceback" not in result.stderr


def test_a_learner_with_a_wrong_token_is_told_which_variable_holds_it(tmp_path: Path) -> None:
    from tutor_cli.realtime.connection import Connection, ConnectionFailed
    from tutor_cli.realtime.endpoint import resolve_endpoint

    users, _ = learners(tmp_path, "ana")

    async def body(relay: Relay) -> None:
        env = {"TUTOR_ENGINE_KEY": "not-a-token"}
        endpoint = resolve_endpoint(relay.url, model=None, scenario="a1_taxi_bogota", env=env)
        assert endpoint is not None
        connection = Connection(endpoint, None, connect_timeout=5)

        async def nothing(*_: object) -> None:
            return None

        with pytest.raises(ConnectionFailed) as caught:
            await connection.run(nothing, nothing, lambda _: None)
        assert "HTTP 401" in str(caught.value) and "TUTOR_ENGINE_KEY" in str(caught.value)
        assert "not-a-token" not in str(caught.value)

    with_relay(body, users=book(users))
