"""The offline engine's responsiveness, measured over loopback against `tutor serve`.

1. Time from `response.create` to the first `response.output_audio.delta`, over 50 turns of a
   lesson: median and p95 (target: median < 50 ms).
2. Concurrency: N sessions ask for a reply at the same moment; how many can one engine process
   serve with every session getting its first audio delta within 200 ms (target: >= 50).
3. Fairness under load: 50 sessions ask at once for a reply whose first sentence is the longest
   in the catalogue (the voice's lock is shared: a session must not wait for every other
   session's whole sentence); median and slowest first audio (targets: < 50 ms, < 200 ms).

    uv run python benchmarks/engine_latency.py [--turns 50] [--max-sessions 120] [--long 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time

from terminal import ROOT, listening
from websockets.asyncio.client import ClientConnection, connect

from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.lesson.session_config import session_config
from tutor_cli.realtime import events

SCENARIO = "a1_taxi_bogota"
TYPE_AT_START = re.compile(r'"type": "([^"]+)"')
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")  # where the engine cuts a reply into sentences


async def open_session(url: str, scenario_id: str = SCENARIO) -> ClientConnection:
    ws = await connect(f"{url}?scenario={scenario_id}", max_size=None)
    scenario = load_scenario(ROOT / "scenarios" / f"{scenario_id}.json")
    await ws.send(json.dumps(events.session_update(session_config(scenario))))
    while json.loads(await ws.recv())["type"] != "session.updated":
        pass
    return ws


async def first_audio(
    ws: ClientConnection, text: str | None, instructions: str | None = None
) -> float:
    """Seconds from response.create to the first audio delta; drains to response.done."""
    if text is not None:
        await ws.send(json.dumps(events.user_text(text)))
    started = time.perf_counter()
    await ws.send(json.dumps(events.response_create(instructions=instructions)))
    latency = None
    while True:
        type_ = event_type(await ws.recv())
        if type_ == "response.output_audio.delta" and latency is None:
            latency = time.perf_counter() - started
        if type_ == "response.done":
            assert latency is not None, "a response without audio"
            return latency


def event_type(frame: str | bytes) -> str:
    """An event's type, read from the frame's start when it is there (the engine puts it
    second, after event_id): fifty sessions' audio is a lot of JSON for one client to parse,
    and the time spent parsing it would count as the engine's."""
    text = frame if isinstance(frame, str) else frame.decode()
    head = TYPE_AT_START.search(text, 0, 120)
    return head[1] if head else str(json.loads(text)["type"])


async def turn_latency(url: str, turns: int) -> list[float]:
    ws = await open_session(url)
    scenario = load_scenario(ROOT / "scenarios" / f"{SCENARIO}.json")
    lines = [None] + [scenario.steps[i % len(scenario.steps)].model_answer for i in range(turns)]
    out = []
    for index, text in enumerate(lines[:turns]):
        if index and index % len(scenario.steps) == 0:  # a fresh lesson keeps replies speech
            await ws.close()
            ws = await open_session(url)
            text = None
        out.append(await first_audio(ws, text))
    await ws.close()
    return out


async def concurrent(url: str, sessions: int) -> list[float]:
    sockets = [await open_session(url) for _ in range(sessions)]
    try:
        return list(await asyncio.gather(*(first_audio(ws, None) for ws in sockets)))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


def longest_first_sentence() -> tuple[str, str]:
    """(scenario id, sentence): the longest first sentence of any line a tutor opens with."""
    found: list[tuple[int, str, str]] = []
    for path in sorted((ROOT / "scenarios").glob("*.json")):
        if path.name == "index.json":
            continue
        scenario = load_scenario(path)
        opening = f"{scenario.opening} {scenario.steps[0].tutor}"
        lines = [opening, *(step.tutor for step in scenario.steps)]
        for line in lines:
            first = SENTENCE_END.split(line.strip())[0]
            found.append((len(first.split()), scenario.id, first))
    _, scenario_id, sentence = max(found)
    return scenario_id, sentence


async def long_first_sentences(url: str, sessions: int) -> tuple[int, list[float]]:
    """Every session asks at once for the catalogue's longest first sentence."""
    scenario_id, sentence = longest_first_sentence()
    sockets = [await open_session(url, scenario_id) for _ in range(sessions)]
    said = f'Say: "{sentence}"'  # per-response instructions the scripted tutor obeys
    try:
        latencies = await asyncio.gather(*(first_audio(ws, None, said) for ws in sockets))
        return len(sentence.split()), list(latencies)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--max-sessions", type=int, default=120)
    parser.add_argument("--long", type=int, default=50, help="sessions for the fairness test")
    args = parser.parse_args()
    server, url = listening(["-m", "tutor_cli", "serve", "--port", "0", "--pace", "0"], "offline")
    try:
        latencies = await turn_latency(url, args.turns)
        print(f"first audio delta after response.create, {len(latencies)} turns:")
        print(f"  median {statistics.median(latencies) * 1000:6.1f} ms   (target < 50 ms)")
        print(f"  p95    {pct(latencies, 0.95) * 1000:6.1f} ms")
        print("concurrent sessions, each asking for a reply at once:")
        best = 0
        for sessions in (10, 25, 50, 75, 100, 120):
            if sessions > args.max_sessions:
                break
            worst = max(await concurrent(url, sessions))
            ok = worst <= 0.2
            print(
                f"  {sessions:4d} sessions: slowest first delta {worst * 1000:7.1f} ms"
                f" {'ok' if ok else 'over 200 ms'}"
            )
            if not ok:
                break
            best = sessions
        print(f"sessions served within 200 ms: {best}   (target >= 50)")
        words, latencies = await long_first_sentences(url, args.long)
        print(f"{args.long} sessions at once, first sentence {words} words (the longest):")
        print(f"  median  {statistics.median(latencies) * 1000:6.1f} ms   (target < 50 ms)")
        print(f"  slowest {max(latencies) * 1000:6.1f} ms   (target < 200 ms)")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    asyncio.run(main())
