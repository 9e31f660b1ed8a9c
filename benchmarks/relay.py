"""The classroom relay's cost: what it adds to each event, and the CPU it spends per lesson.

An offline engine (`tutor serve`) runs in one process, a relay in front of it (`tutor serve
--relay --upstream ws://…`) in another, and this process plays N learners at once, each typing
the first steps of a lesson. The same flow runs twice: straight to the engine (each learner
sending the lesson's `session.update`, as `tutor call` does) and through the relay (which sets
the lesson up itself).

1. Added latency per event: both runs reach the engine through a tap in this process, which
   notes when it hands each engine event on; each learner notes when the event (by its
   `event_id`) reaches it. One clock, one process: the hop tap -> learner is timed for every
   event, straight and through the relay, and the relay adds the difference. Median and p99
   of each run's hops and their differences (targets: < 2 ms, < 10 ms).
2. The relay process's CPU time (user + system, from /proc) per minute of lesson held through
   it.

    uv run python benchmarks/relay.py [--learners 50] [--turns 5] [--pace 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from typing import Any

from terminal import ROOT, cpu_seconds, listening
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.realtime import events

SCENARIO = "a1_taxi_bogota"
TAXI = load_scenario(ROOT / "scenarios" / f"{SCENARIO}.json")
EVENT_ID = re.compile(r'"event_id": "([^"]+)"')
TYPE = re.compile(r'"type": "([^"]+)"')
Times = dict[tuple[str, str], float]  # (engine session, event_id) -> perf_counter()


def session_id(frame: str | bytes) -> str:
    """The engine session's id, from its `session.created` (the first event); events are
    numbered per session, so the id tells one session's from another's."""
    event = json.loads(frame)
    assert event["type"] == "session.created", event["type"]
    return str(event["session"]["id"])


class Tap:
    """A pass-through to the engine that notes when it hands each engine event on."""

    def __init__(self, engine_url: str) -> None:
        self.engine_url = engine_url
        self.sent: Times = {}
        self._sessions = itertools.count(1)

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = ws.request.path.partition("?")[2]
        async with connect(f"{self.engine_url}?{query}", max_size=None) as up:

            async def upward() -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for frame in ws:
                        await up.send(frame)
                await up.close()

            pump = asyncio.create_task(upward())
            session = ""
            with contextlib.suppress(ConnectionClosed):
                async for frame in up:
                    if not session:  # the engine numbers sessions per process: make it unique
                        session = f"sess_tap_{next(self._sessions)}"
                        event = json.loads(frame)
                        event["session"]["id"] = session
                        frame = json.dumps(event)
                    await ws.send(frame)
                    sent = time.perf_counter()
                    event_id = EVENT_ID.search(str(frame), 0, 200)
                    if event_id:
                        self.sent[session, event_id[1]] = sent
            pump.cancel()


async def learner(url: str, turns: int, direct: bool, got: Times) -> None:
    ws: ClientConnection = await connect(f"{url}?scenario={SCENARIO}", max_size=None)
    session = ""
    try:
        if direct:  # as `tutor call` sets a lesson up with an engine
            await ws.send(json.dumps(events.session_update(session_config(TAXI))))
            await ws.send(json.dumps(events.response_create()))
        for turn in range(turns + 1):  # the opening, then the typed steps
            if turn:
                await ws.send(json.dumps(events.user_text(TAXI.steps[turn - 1].model_answer)))
                await ws.send(json.dumps(events.response_create()))
            while True:
                frame = str(await ws.recv())
                arrived = time.perf_counter()
                session = session or session_id(frame)
                event_id, type_ = EVENT_ID.search(frame, 0, 200), TYPE.search(frame, 0, 200)
                assert event_id and type_, frame[:200]
                got[session, event_id[1]] = arrived
                if type_[1] == "response.done":
                    break
    finally:
        await ws.close()


async def hops(url: str, tap: Tap, learners: int, turns: int, direct: bool) -> list[float]:
    """Milliseconds from the tap to a learner, one per engine event."""
    got: Times = {}
    await asyncio.gather(*(learner(url, turns, direct, got) for _ in range(learners)))
    return [(got[i] - tap.sent[i]) * 1000 for i in got if i in tap.sent]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(home: str, learners: int, turns: int, pace: float) -> None:
    engine_args = ["-m", "tutor_cli", "serve", "--port", "0", "--pace", f"{pace:g}"]
    engine, engine_url = listening(engine_args, "offline", {**os.environ, "TUTOR_HOME": home})
    tap = Tap(engine_url)
    relay = None
    try:
        async with serve(tap.handle, "127.0.0.1", 0, max_size=None) as server:
            tap_url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
            relay, relay_url = listening(
                [__file__, "--as-relay", tap_url], "relay", {**os.environ, "TUTOR_HOME": home}
            )
            direct = await hops(tap_url, tap, learners, turns, direct=True)
            cpu_before, started = cpu_seconds(relay.pid), time.perf_counter()
            relayed = await hops(relay_url, tap, learners, turns, direct=False)
            elapsed, cpu = time.perf_counter() - started, cpu_seconds(relay.pid) - cpu_before
            held = json.loads(relay.communicate("", timeout=30)[0])
    finally:
        for child in (relay, engine):
            if child is not None:
                child.terminate()
                child.wait(30)
    session_minutes = learners * elapsed / 60
    print(f"relay benchmark: {learners} learners at once, the opening and {turns} typed turns")
    for name, figures in (("straight to the engine", direct), ("through the relay", relayed)):
        print(
            f"  tap -> learner, {name}: {len(figures)} events, median "
            f"{statistics.median(figures):.2f} ms, p99 {percentile(figures, 0.99):.2f} ms"
        )
    print(
        f"  held in the relay (read from the engine -> written to the learner): {len(held)} "
        f"events, median {statistics.median(held):.3f} ms, p99 {percentile(held, 0.99):.3f} ms"
    )
    added_median = statistics.median(relayed) - statistics.median(direct)
    added_p99 = percentile(relayed, 0.99) - percentile(direct, 0.99)
    print(
        f"  added by the relay per event: median {added_median:.2f} ms, p99 {added_p99:.2f} ms "
        "(targets: < 2 ms, < 10 ms; beyond a few learners this difference is mostly this "
        "process's own queue, as its learners and tap share one event loop)"
    )
    print(
        f"  relay CPU: {cpu:.2f} s over {session_minutes:.1f} session-minutes = "
        f"{cpu / session_minutes * 1000:.0f} ms per session-minute"
    )


def as_relay(upstream: str) -> None:
    """The relay, as `tutor serve --relay` runs it, timing each engine event from the moment
    its frame is read to the moment it is written to the learner's socket (and logged). Prints
    its URL, serves until standard input closes, then prints the times (ms) as JSON."""
    from tutor_cli.realtime.connection import Connection
    from tutor_cli.relay.server import Relay

    held: list[float] = []
    deliver = Connection._deliver

    async def timed(self: Connection, frame: str | bytes, on_event: Any) -> None:
        read = time.perf_counter()
        await deliver(self, frame, on_event)
        held.append((time.perf_counter() - read) * 1000)

    setattr(Connection, "_deliver", timed)  # noqa: B010 (a probe the relay does not know about)

    async def serve_until_told() -> None:
        async with Relay(upstream=upstream, port=0) as relay:
            print(f"relay listening on {relay.url}", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(serve_until_told())
    print(json.dumps(held))


def main() -> None:
    if sys.argv[1:2] == ["--as-relay"]:
        as_relay(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--turns", type=int, default=5, help="typed steps per lesson (max 5)")
    parser.add_argument("--pace", type=float, default=4.0, help="the engine's --pace")
    options = parser.parse_args()
    turns = min(options.turns, len(TAXI.steps) - 1)  # the last step's reply calls the quiz
    with tempfile.TemporaryDirectory() as home:
        asyncio.run(measure(home, options.learners, turns, options.pace))


if __name__ == "__main__":
    main()
