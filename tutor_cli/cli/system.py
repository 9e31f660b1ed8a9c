"""`tutor devices`, `tutor doctor`, `tutor serve`: the machine, and the offline engine."""

import json
from pathlib import Path
from typing import Annotated

import typer

from tutor_cli.cli.options import JsonFlag, ScenarioDirs
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import check_scenario_id


def devices(as_json: JsonFlag = False) -> None:
    """List sound devices: index, name, input/output channels, default rate, defaults."""
    from tutor_cli.audio.devices import AudioUnavailable, list_devices

    try:
        found = list_devices()
    except AudioUnavailable as exc:
        if as_json:
            print(json.dumps({"error": str(exc), "devices": []}))
        else:
            print(f"No sound devices: {exc}")
            print("Calls still work as text; --mic-file/--speaker-file need no sound card.")
        return
    if as_json:
        print(json.dumps([vars(d) for d in found], ensure_ascii=False, indent=2))
        return
    if not found:
        print("PortAudio sees no sound devices on this machine.")
        print("Calls still work as text; --mic-file/--speaker-file need no sound card.")
        return
    from rich.console import Console

    from tutor_cli.views.devices import device_table

    Console(highlight=False).print(device_table(found))
    print(
        "Choose with: tutor call SCENARIO --input-device N --output-device N "
        "(an index or a name part)"
    )


def doctor(
    engine: Annotated[
        str,
        typer.Option(
            envvar="TUTOR_ENGINE",
            metavar="ENGINE",
            help="The engine to check, as for 'tutor call'.",
        ),
    ] = "auto",
) -> None:
    """Check what a call needs: PortAudio, devices, the API key (never shown), the engine."""
    import asyncio

    from tutor_cli.call.doctor import run_checks

    raise typer.Exit(asyncio.run(run_checks(engine)))


def serve(
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help="Address to bind. Anything but loopback exposes the server, and needs a token "
            "(a relay: --users) or --insecure.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", help="Port to listen on (0 picks a free one).")
    ] = 8765,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            metavar="SCENARIO",
            help="Scenario for connections that name none with ?scenario=SCENARIO.",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            envvar="TUTOR_SERVE_TOKEN",
            help="Refuse connections without 'Authorization: Bearer TOKEN'. Prefer the "
            "environment variable: other users can read command lines.",
        ),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            metavar="ORIGIN",
            help="A web origin (https://host[:port]) whose pages may connect, besides loopback "
            "ones (repeatable). Clients that are not browsers send none and are not affected.",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Allow binding beyond loopback without a token or users (anyone may connect).",
        ),
    ] = False,
    pace: Annotated[
        float,
        typer.Option(
            metavar="FACTOR",
            help="Stream speech this many times faster than real time after a 1 s lead "
            "(0: as fast as it is made).",
        ),
    ] = 4.0,
    relay: Annotated[
        bool,
        typer.Option(
            "--relay",
            help="Run a classroom relay instead: learners connect to it, it holds the API key, "
            "sets every lesson up itself and keeps the grades.",
        ),
    ] = False,
    upstream: Annotated[
        str,
        typer.Option(
            metavar="ENGINE",
            help="With --relay: the engine it uses, as 'tutor call --engine' takes it (auto, "
            "openai, azure, offline, or a ws:// / wss:// URL); its key from the environment.",
        ),
    ] = "auto",
    users: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="With --relay: the learners and their hashed tokens (TOML). Without it the "
            "relay is open to anyone who can reach it (loopback only, unless --insecure).",
        ),
    ] = None,
    add_user: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Add a learner to --users FILE and print their token once; nothing is served.",
        ),
    ] = None,
    max_sessions_per_user: Annotated[
        int,
        typer.Option(metavar="N", help="With --relay: lessons a learner may have open at once."),
    ] = 2,
    max_minutes: Annotated[
        float,
        typer.Option(
            metavar="MINUTES",
            help="With --relay: a lesson's length; then the grade is asked for and it ends.",
        ),
    ] = 60.0,
    scenarios: ScenarioDirs = None,
) -> None:
    """Run the offline engine (a local OpenAI-Realtime-compatible server) or, with --relay, a
    classroom relay, until Ctrl+C."""
    if not 0 <= port <= 65535:
        raise BadInput(f"--port: {port} is not a port number (0-65535)")
    if pace < 0:
        raise BadInput(f"--pace: {pace:g} must be 0 or more")
    from tutor_cli.cli import relay as classroom

    if add_user is not None:
        classroom.add_user(add_user, users)
        return
    if relay:
        if scenario is not None or token:
            raise BadInput(
                "--scenario and --token (or TUTOR_SERVE_TOKEN) are the offline engine's: a "
                "relay's learners name their lesson and have tokens of their own (--users)"
            )
        options = classroom.RelayOptions(
            upstream=upstream,
            host=host,
            port=port,
            users=users,
            allow_origin=allow_origin or [],
            max_sessions_per_user=max_sessions_per_user,
            max_minutes=max_minutes,
            insecure=insecure,
            pace=pace,
            scenario_dirs=scenarios or [],
        )
        classroom.serve_relay(options)
        return
    if users is not None:
        raise BadInput("--users needs --relay (or --add-user NAME)")
    _serve_engine(host, port, scenario, token, allow_origin, insecure, pace, scenarios or [])


def _serve_engine(
    host: str,
    port: int,
    scenario: str | None,
    token: str | None,
    allow_origin: list[str] | None,
    insecure: bool,
    pace: float,
    scenarios: list[Path],
) -> None:
    if scenario is not None:
        check_scenario_id(scenario)
    import asyncio

    from tutor_cli.engine.access import check_exposure, origins_option
    from tutor_cli.engine.server import OfflineEngine

    token = token or None  # an empty TUTOR_SERVE_TOKEN is no token
    if token is not None and any(ord(c) < 32 or ord(c) == 127 for c in token):
        raise BadInput("--token: contains a control character, which no header can carry")
    origins = origins_option(allow_origin)
    check_exposure(
        host,
        protected=token is not None,
        insecure=insecure,
        remedy="set a token (TUTOR_SERVE_TOKEN or --token)",
    )

    async def run() -> None:
        engine = OfflineEngine(
            host=host,
            port=port,
            scenario=scenario,
            token=token,
            scenario_dirs=scenarios,
            pace=pace,
            allowed_origins=origins,
        )
        await engine.start()
        print(f"offline engine listening on {engine.url}", flush=True)
        print(f"  OpenAI SDK: base_url={engine.sdk_base_url!r}", flush=True)
        print(f"  scenario: ?scenario=ID, else {scenario or 'a generic partner'}", flush=True)
        if token:
            print("  clients must send: Authorization: Bearer <token>", flush=True)
        print("Ctrl+C stops it.", flush=True)
        try:
            await engine.serve_forever()
        finally:
            await engine.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("\nstopped.")
