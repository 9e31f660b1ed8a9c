"""The `tutor` command line. Commands parse options, build what they need, and map errors to
exit codes: 0 success, 1 the session failed, 2 bad input (one line, never a traceback).

Slow imports (textual, sounddevice, websockets, pydantic) happen inside the commands that need
them, so `tutor list` starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tutor_cli import __version__
from tutor_cli.catalogue import LEVELS, Catalogue, check_scenario_id
from tutor_cli.errors import BadInput
from tutor_cli.replay_cli import replay

app = typer.Typer(
    name="tutor",
    help="A terminal voice tutor: role-play lessons with a tutor you can talk to or type to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ScenarioDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--scenarios",
        help="A folder of extra scenario files to add to the catalogue (repeatable).",
        metavar="DIR",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _version(value: bool) -> None:
    if value:
        print(f"tutor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """A terminal voice tutor: role-play lessons with a tutor you can talk to or type to."""


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


@app.command("list")
def list_scenarios(
    level: Annotated[
        str | None, typer.Option(help=f"Only this CEFR level ({', '.join(LEVELS)}).")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Only this target language, e.g. 'es' or 'pt-BR'.")
    ] = None,
    as_json: JsonFlag = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """List the role-play scenarios."""
    if level is not None and level.upper() not in LEVELS:
        raise BadInput(f"--level: {level!r} is not one of {', '.join(LEVELS)}")
    entries = Catalogue.load(scenarios or []).filtered(level.upper() if level else None, language)
    if as_json:
        rows = [
            {
                "id": e.id,
                "title": e.title,
                "level": e.level,
                "language": e.language,
                "estimated_minutes": e.estimated_minutes,
                "builtin": e.builtin,
                "path": str(e.path),
            }
            for e in entries
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not entries:
        print("No scenarios match.")
        return
    from tutor_cli.listing import format_table

    rows = [(e.id, e.level, e.language, e.title, str(e.estimated_minutes)) for e in entries]
    headers = ("id", "level", "language", "title", "min")
    print(format_table(headers, rows, right_aligned=(4,), shrink=3))
    count = f"{len(entries)} scenario{'' if len(entries) == 1 else 's'}"
    print(f"\n{count}. Start one with: tutor call ID")


def _load(scenario_id: str, extra_dirs: list[Path] | None) -> Any:
    from tutor_cli.scenarios import load_scenario

    check_scenario_id(scenario_id)  # before any file is touched
    return load_scenario(Catalogue.load(extra_dirs or []).get(scenario_id).path)


@app.command()
def show(
    scenario_id: Annotated[
        str, typer.Argument(metavar="ID", help="A scenario id from 'tutor list'.")
    ],
    as_json: JsonFlag = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """Show a scenario: persona, goals, steps and vocabulary."""
    scenario = _load(scenario_id, scenarios)
    if as_json:
        print(json.dumps(scenario.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    from tutor_cli.scenario_view import render_scenario

    render_scenario(_console(), scenario)


@app.command()
def call(
    scenario_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="A scenario id from 'tutor list' (or the script's)."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            envvar="TUTOR_ENGINE",
            help="auto (OpenAI with OPENAI_API_KEY, else offline), openai, azure, offline, "
            "or a ws:// / wss:// URL of a compatible server.",
        ),
    ] = "auto",
    model: Annotated[
        str | None, typer.Option(help="Realtime model (default gpt-realtime).")
    ] = None,
    headless: Annotated[
        bool, typer.Option("--headless", help="No call screen: print the lesson as it streams.")
    ] = False,
    text_only: Annotated[
        bool, typer.Option("--text-only", help="Text replies only; no audio device is touched.")
    ] = False,
    say: Annotated[
        list[str] | None,
        typer.Option("--say", help="A learner turn (repeatable); the tutor answers each in turn."),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(help="A scripted session (TOML): turns with expected replies and tools."),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option(help="With --script: write a JUnit XML report here.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each reply, tool round trips included.")
    ] = 60.0,
    mic_file: Annotated[
        Path | None,
        typer.Option(help="A WAV file (any rate and channels) to use as the microphone."),
    ] = None,
    mic_speed: Annotated[
        str, typer.Option(help="Stream --mic-file in 'realtime' (like a person) or 'fast'.")
    ] = "realtime",
    speaker_file: Annotated[
        Path | None,
        typer.Option(help="Write what the speaker would play (24 kHz mono WAV) to this file."),
    ] = None,
    input_device: Annotated[
        str | None, typer.Option(help="Microphone: an index or name part from 'tutor devices'.")
    ] = None,
    output_device: Annotated[
        str | None, typer.Option(help="Speaker: an index or name part from 'tutor devices'.")
    ] = None,
    push_to_talk: Annotated[
        bool,
        typer.Option(
            "--push-to-talk", help="Talk only while the talk key is held (turn detection off)."
        ),
    ] = False,
    echo_gate: Annotated[
        str,
        typer.Option(
            help="Drop mic frames while the tutor is audible unless you are clearly louder: "
            "auto (on for a sound card, off for --speaker-file), on, off."
        ),
    ] = "auto",
    noise_reduction: Annotated[
        str,
        typer.Option(help="The server's input noise reduction: near_field, far_field, off."),
    ] = "near_field",
    record_mic: Annotated[
        bool,
        typer.Option("--record-mic", help="Keep your microphone audio in the event log."),
    ] = False,
    scenarios: ScenarioDirs = None,
) -> None:
    """Start a lesson with the tutor: the call screen, or with --headless the lesson printed.

    Talk, or type at any time. Headless, learner turns come from --say, --script, piped
    standard input, or a prompt. Ending the call (ctrl+q on the screen; end of turns, Ctrl+D
    or Ctrl+C headless) asks the tutor for a grade and shows a summary.
    """
    import asyncio
    from collections import deque

    from tutor_cli.script import load_script

    loaded = load_script(script) if script is not None else None
    scenario_id = scenario_id or (loaded.scenario if loaded else None)
    if scenario_id is None:
        raise BadInput("name a scenario: tutor call ID (see 'tutor list')")
    if junit is not None and loaded is None:
        raise BadInput("--junit needs --script")
    if timeout <= 0:
        raise BadInput(f"--timeout: {timeout:g} must be more than 0")
    for option, value, allowed in (
        ("--echo-gate", echo_gate, ("auto", "on", "off")),
        ("--noise-reduction", noise_reduction, ("near_field", "far_field", "off")),
        ("--mic-speed", mic_speed, ("realtime", "fast")),
    ):
        if value not in allowed:
            raise BadInput(f"{option}: {value!r} is not one of {', '.join(allowed)}")
    if text_only and (mic_file or speaker_file or push_to_talk):
        raise BadInput(
            "--text-only cannot be combined with --mic-file, --speaker-file or --push-to-talk"
        )
    if mic_file is not None and not mic_file.is_file():
        raise BadInput(f"--mic-file: {mic_file}: no such file")
    scenario = _load(scenario_id, scenarios)

    from tutor_cli.call import Call, CallSettings, Notice
    from tutor_cli.console_view import ConsoleView
    from tutor_cli.headless import (
        Prompt,
        Recorder,
        from_lines,
        run_lines,
        run_script,
        stdin_lines,
        until,
    )
    from tutor_cli.store import ProgressStore

    lines = deque(say or [])
    piped = stdin_lines() if not say and loaded is None else None
    if piped is not None:
        lines = piped
    quiz_lines = deque(loaded.quiz_answers) if loaded else lines

    prompt: Prompt | None = None

    async def next_answer() -> str | None:
        if quiz_lines:
            return quiz_lines.popleft()
        return await prompt.ask("answer> ") if prompt else None

    by_hand = loaded is None and not say and piped is None
    interactive = by_hand and headless  # a prompt: typed turns, no full screen
    if by_hand and not headless and not sys.stdout.isatty():
        raise BadInput("the call screen needs a terminal: use --headless, --say or --script")
    view = ConsoleView(scenario.persona.name, quiz_answers=next_answer)
    from tutor_cli.audio.voice import VoiceSettings
    from tutor_cli.session import SessionOptions

    settings = CallSettings(
        engine=engine,
        model=model,
        text_only=text_only,
        keep_mic_audio=record_mic,
        session=SessionOptions(noise_reduction=noise_reduction),  # type: ignore[arg-type]
        voice=VoiceSettings(
            mic_file=mic_file,
            speaker_file=speaker_file,
            input_device=input_device,
            output_device=output_device,
            echo_gate=echo_gate,  # type: ignore[arg-type]
            push_to_talk=push_to_talk,
            mic_realtime=mic_speed == "realtime",
        ),
        reply_timeout=loaded.timeout_s if loaded and loaded.timeout_s else timeout,
        scenario_dirs=tuple(scenarios or ()),
    )

    if by_hand and not headless:
        from tutor_cli.tui.app import run_call_screen

        raise typer.Exit(run_call_screen(scenario, settings))

    async def run() -> int:
        nonlocal prompt
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def first_interrupt() -> None:
            view.show(Notice("ending the call (Ctrl+C again to quit at once)…", "warning"))
            stop.set()
            loop.remove_signal_handler(signal.SIGINT)

        loop.add_signal_handler(signal.SIGINT, first_interrupt)
        if interactive:
            prompt = Prompt()
        with ProgressStore.open_default() as store:
            if loaded is not None:
                recorder = Recorder(view)
                the_call = Call(scenario, settings, recorder, store=store)
                summary, report = await run_script(the_call, recorder, loaded, junit)
                return 0 if report.passed else 1
            the_call = Call(scenario, settings, view, store=store)
            turns = prompt.turns() if prompt else from_lines(lines)
            summary = await run_lines(the_call, view, until(turns, stop))
            return 1 if summary.failure else 0

    code = asyncio.run(run())
    raise typer.Exit(code)


@app.command()
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
    from rich.table import Table
    from rich.text import Text

    from tutor_cli.literal import printable

    table = Table(title="Sound devices", title_justify="left")
    for column, justify in (("#", "right"), ("name", "left"), ("in", "right"), ("out", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("rate", justify="right")
    table.add_column("host API")
    table.add_column("default")
    for d in found:
        default = ", ".join(
            k for k, v in (("input", d.default_input), ("output", d.default_output)) if v
        )
        table.add_row(
            Text(str(d.index)),
            Text(printable(d.name)),
            Text(str(d.inputs)),
            Text(str(d.outputs)),
            Text(f"{d.default_rate:g}"),
            Text(printable(d.hostapi)),
            Text(default),
        )
    _console().print(table)
    print("Choose with: tutor call ID --input-device N --output-device N (an index or a name part)")


@app.command()
def doctor(
    engine: Annotated[
        str, typer.Option(envvar="TUTOR_ENGINE", help="The engine to check, as for 'tutor call'.")
    ] = "auto",
) -> None:
    """Check what a call needs: PortAudio, devices, the API key (never shown), the engine."""
    import asyncio

    from tutor_cli.doctor import run_checks

    raise typer.Exit(asyncio.run(run_checks(engine)))


@app.command()
def progress(as_json: JsonFlag = False, scenarios: ScenarioDirs = None) -> None:
    """Your progress per scenario: attempts, best and last score, last date."""
    from tutor_cli.progress_view import print_progress, progress_rows
    from tutor_cli.store import ProgressStore

    titles = {entry.id: entry.title for entry in Catalogue.load(scenarios or [])}
    with ProgressStore.open_default() as store:
        rows = progress_rows(store, titles)
    print_progress(rows, as_json)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind. Anything but loopback exposes the engine.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8765,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", help="Scenario for connections that name none with ?scenario=ID."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Refuse connections without 'Authorization: Bearer TOKEN'."),
    ] = None,
    pace: Annotated[
        float,
        typer.Option(
            help="Stream speech this many times faster than real time after a 1 s lead "
            "(0: as fast as it is made)."
        ),
    ] = 4.0,
    scenarios: ScenarioDirs = None,
) -> None:
    """Run the offline engine: a local OpenAI-Realtime-compatible server, until Ctrl+C."""
    import asyncio

    if scenario is not None:
        check_scenario_id(scenario)
    if not 0 <= port <= 65535:
        raise BadInput(f"--port: {port} is not a port number (0-65535)")
    if pace < 0:
        raise BadInput(f"--pace: {pace:g} must be 0 or more")
    from tutor_cli.engine.server import OfflineEngine

    async def run() -> None:
        engine = OfflineEngine(
            host=host,
            port=port,
            scenario=scenario,
            token=token,
            scenario_dirs=scenarios or [],
            pace=pace,
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


app.command("replay")(replay)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        app(args=argv, prog_name="tutor", standalone_mode=True)
    except BadInput as exc:
        from tutor_cli.literal import printable

        print(f"tutor: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
