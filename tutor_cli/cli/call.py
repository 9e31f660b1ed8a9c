"""`tutor call`: a lesson on the call screen, printed headless, or run from a script."""

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutor_cli.audio.settings import EchoGateMode
from tutor_cli.cli.options import MicSpeed, ScenarioDirs
from tutor_cli.errors import BadInput
from tutor_cli.lesson.session_options import NoiseReduction
from tutor_cli.views.literal import printable

if TYPE_CHECKING:
    from tutor_cli.lesson.updates import CallSummary


def call(
    scenario_id: Annotated[
        str | None,
        typer.Argument(
            metavar="SCENARIO", help="A scenario id from 'tutor list' (or the script's)."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            envvar="TUTOR_ENGINE",
            metavar="ENGINE",
            help="auto (OpenAI with OPENAI_API_KEY, else offline), openai, azure, offline, "
            "or a ws:// / wss:// URL of a compatible server.",
        ),
    ] = "auto",
    model: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Realtime model (default gpt-realtime).")
    ] = None,
    headless: Annotated[
        bool, typer.Option("--headless", help="No call screen: print the lesson as it streams.")
    ] = False,
    text_only: Annotated[
        bool, typer.Option("--text-only", help="Text replies only; no audio device is touched.")
    ] = False,
    say: Annotated[
        list[str] | None,
        typer.Option(
            "--say",
            metavar="LINE",
            help="A learner turn (repeatable); the tutor answers each in turn.",
        ),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A scripted session (TOML): turns with expected replies and tools.",
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="With --script: write a JUnit XML report here."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds the engine may stay silent while it owes a reply; then the reply is "
            "cancelled and the call goes on.",
        ),
    ] = 60.0,
    mic_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="A WAV file (any rate and channels) to use as the microphone."
        ),
    ] = None,
    mic_speed: Annotated[
        MicSpeed,
        typer.Option(
            metavar="realtime|fast",
            help="Stream --mic-file in real time (like a person) or fast.",
        ),
    ] = MicSpeed.realtime,
    speaker_file: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Write what the speaker would play (24 kHz mono WAV) to this file.",
        ),
    ] = None,
    input_device: Annotated[
        str | None,
        typer.Option(
            metavar="DEVICE", help="Microphone: an index or name part from 'tutor devices'."
        ),
    ] = None,
    output_device: Annotated[
        str | None,
        typer.Option(metavar="DEVICE", help="Speaker: an index or name part from 'tutor devices'."),
    ] = None,
    push_to_talk: Annotated[
        bool,
        typer.Option(
            "--push-to-talk", help="Talk only while the talk key is held (turn detection off)."
        ),
    ] = False,
    echo_gate: Annotated[
        EchoGateMode,
        typer.Option(
            metavar="auto|on|off",
            help="Drop mic frames while the tutor is audible unless you are clearly louder: "
            "auto (on for a sound card, off for --speaker-file), on, off.",
        ),
    ] = EchoGateMode.auto,
    noise_reduction: Annotated[
        NoiseReduction,
        typer.Option(
            metavar="near_field|far_field|off",
            help="The server's input noise reduction (far_field: no headphones).",
        ),
    ] = NoiseReduction.near_field,
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
    from tutor_cli.lesson.script import load_script

    loaded = load_script(script) if script is not None else None
    scenario_id = scenario_id or (loaded.scenario if loaded else None)
    if scenario_id is None:
        raise BadInput("name a scenario: tutor call SCENARIO (see 'tutor list')")
    if junit is not None and loaded is None:
        raise BadInput("--junit needs --script")
    if not math.isfinite(timeout) or timeout <= 0:
        raise BadInput(f"--timeout: {timeout:g} must be a number of seconds more than 0")
    if text_only and (mic_file or speaker_file or push_to_talk):
        raise BadInput(
            "--text-only cannot be combined with --mic-file, --speaker-file or --push-to-talk"
        )
    if mic_file is not None and not mic_file.is_file():
        raise BadInput(f"--mic-file: {mic_file}: no such file")

    from collections import deque
    from dataclasses import replace

    from tutor_cli.audio.settings import VoiceSettings
    from tutor_cli.call.headless import learner_text, run_headless, stdin_lines
    from tutor_cli.call.settings import CallSettings
    from tutor_cli.lesson.catalogue import load_by_id
    from tutor_cli.lesson.session_options import SessionOptions

    scenario = load_by_id(scenario_id, scenarios or [])
    settings = CallSettings(
        engine=engine,
        model=model,
        text_only=text_only,
        keep_mic_audio=record_mic,
        session=SessionOptions(noise_reduction=noise_reduction),
        voice=VoiceSettings(
            mic_file=mic_file,
            speaker_file=speaker_file,
            input_device=input_device,
            output_device=output_device,
            echo_gate=echo_gate,
            push_to_talk=push_to_talk,
            mic_realtime=mic_speed is MicSpeed.realtime,
        ),
        reply_timeout=loaded.timeout_s if loaded and loaded.timeout_s else timeout,
        scenario_dirs=tuple(scenarios or ()),
    )
    # Learner turns: the script's, --say's, piped ones; else the learner types them.
    if say:
        lines: deque[str] | None = deque(learner_text(text, "--say", _warn) for text in say)
    else:
        lines = None if loaded is not None else stdin_lines(_warn)
    # Turns written in advance make a scripted session: kept, but not the learner's progress.
    settings = replace(settings, scripted=loaded is not None or lines is not None)
    if loaded is None and lines is None and not headless:
        if not sys.stdout.isatty():
            raise BadInput("the call screen needs a terminal: use --headless, --say or --script")
        from tutor_cli.tui.app import run_call_screen

        code, summary = run_call_screen(scenario, settings)
        _leave_summary(summary, scenario.goals)
        raise typer.Exit(code)
    raise typer.Exit(run_headless(scenario, settings, lines=lines, script=loaded, junit=junit))


def _leave_summary(summary: "CallSummary", goals: list[str]) -> None:
    """The call screen is gone (and its summary with it): leave the summary in the terminal,
    with the log and how to replay it."""
    import contextlib

    from tutor_cli.views.console import PipedConsole, print_summary

    # A terminal closed under the call (SIGHUP ended it) has nobody left to tell.
    with contextlib.suppress(OSError):
        print_summary(PipedConsole(highlight=False, soft_wrap=True), summary, goals)


def _warn(text: str) -> None:
    print(f"tutor: warning: {printable(text)}", file=sys.stderr, flush=True)
