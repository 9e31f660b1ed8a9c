"""`tutor doctor`: what a call needs, checked one by one, each with how to fix it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tutor_cli.datatypes import datatype

if TYPE_CHECKING:
    from tutor_cli.realtime.connection import SocketOpener
    from tutor_cli.realtime.endpoint import Endpoint


@datatype
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _audio() -> list[Finding]:
    from tutor_cli.audio.devices import PORTAUDIO_FIX, AudioUnavailable, list_devices

    try:
        found = list_devices()
    except AudioUnavailable as exc:
        # WAV files stand in for the devices without PortAudio; only the sound card needs it.
        fix = f"{PORTAUDIO_FIX}; meanwhile calls are text, or voice with --mic-file/--speaker-file"
        return [Finding("PortAudio", False, str(exc), fix)]
    findings = [Finding("PortAudio", True, "loaded")]
    for kind in ("input", "output"):
        usable = [d for d in found if (d.inputs if kind == "input" else d.outputs) > 0]
        if usable:
            default = next(
                (d for d in usable if (d.default_input if kind == "input" else d.default_output)),
                usable[0],
            )
            findings.append(
                Finding(f"{kind} device", True, f"{len(usable)} found, using {default.name!r}")
            )
        else:
            findings.append(
                Finding(
                    f"{kind} device",
                    False,
                    f"no {kind} device",
                    "plug one in, or use --mic-file/--speaker-file; calls still work as text",
                )
            )
    return findings


def _key() -> Finding:
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if key:
        return Finding(
            "OPENAI_API_KEY", True, f"set ({len(key)} characters; the value is not shown)"
        )
    return Finding(
        "OPENAI_API_KEY",
        False,
        "not set: calls use the offline engine",
        "export OPENAI_API_KEY=sk-... to use OpenAI (the offline engine needs no key)",
    )


async def _engine(engine: str) -> Finding:
    from tutor_cli.realtime.endpoint import Endpoint, resolve_endpoint

    # A bad --engine value (or a missing key it needs) is bad input: BadInput, exit 2.
    endpoint = resolve_endpoint(engine, model=None, scenario="a1_taxi_bogota", env=os.environ)
    if endpoint is not None:
        return await _reach(endpoint, connect_timeout=10)
    # The engine as a call runs it: in this process, joined in memory.
    from tutor_cli.engine.in_process import InProcessEngine

    built_in = InProcessEngine(None, model="offline")
    return await _reach(Endpoint("offline", "", "offline"), connect_timeout=5, opener=built_in)


async def _reach(
    endpoint: Endpoint, connect_timeout: float, opener: SocketOpener | None = None
) -> Finding:
    """Open a socket (or the built-in engine's session), wait for session.created, close."""
    import asyncio

    from tutor_cli.realtime.connection import Connection, ConnectionFailed

    connection = Connection(endpoint, None, connect_timeout=connect_timeout, opener=opener)
    got: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def on_open(_reconnect: bool) -> None:
        return None

    async def on_event(event: dict[str, Any]) -> None:
        if not got.done():
            got.set_result(str(event.get("type")))
        await connection.close()

    name = connection.opener.describe()
    try:
        await asyncio.wait_for(connection.run(on_open, on_event, lambda _state: None), 15)
    except (ConnectionFailed, TimeoutError) as exc:
        return Finding(
            "engine",
            False,
            f"{name}: {exc or 'timed out'}",
            "check the network, the key, or --engine",
        )
    first = got.result() if got.done() else "nothing"
    if first != "session.created":
        return Finding("engine", False, f"{name}: answered {first!r}, not session.created")
    return Finding("engine", True, f"{name}: reachable, session created")


async def run_checks(engine: str) -> int:
    """Print each check; the exit code is 0 when a call can run (audio problems only warn)."""
    findings = [*_audio(), _key(), await _engine(engine)]
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL" if finding.name == "engine" else "warn"
        print(f"{mark} {finding.name}: {finding.detail}")
        if not finding.ok and finding.fix:
            print(f"     fix: {finding.fix}")
    engine_ok = all(f.ok for f in findings if f.name == "engine")
    print("A call can run." if engine_ok else "A call cannot reach its engine.")
    return 0 if engine_ok else 1
