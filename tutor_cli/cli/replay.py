"""`tutor replay LOG`: the command, kept thin. It checks the options, builds a `Replay` with the
headless view, and leaves errors to `cli.main` (a `BadInput` is one line and exit 2).

In a terminal (stdout a tty, neither `--headless` nor `--json`) the lesson plays on the call
screen (`tui.replay_screen.ReplayApp`); otherwise, or with `--headless`, it is printed.

Importing this module costs only typer: the replay machinery (rich, the Conversation) loads
when the command runs, textual only for the call-screen replay, numpy only for a WAV export
or audio to play, and sounddevice when there is a speaker to open.
"""

import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tutor_cli.errors import BadInput

_OFFSET = re.compile(r"(?:(\d+):)?(\d+(?:\.\d*)?)")


def parse_offset(value: str) -> float:
    """A `--from` value, MM:SS or seconds (fractions allowed), in seconds."""
    match = _OFFSET.fullmatch(value.strip())
    if match is None:
        raise BadInput(f"--from: {value!r} is not a time (MM:SS or seconds, e.g. 1:30 or 90)")
    minutes, seconds = match.groups()
    if minutes is not None and float(seconds) >= 60:
        raise BadInput(f"--from: {value!r}: the seconds of MM:SS must be under 60")
    return int(minutes or 0) * 60 + float(seconds)


def _given(context: typer.Context, name: str) -> bool:
    """Whether option `name` was on the command line (or in the environment), not defaulted."""
    source = context.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


# --speed and --instant are checked against each other in their callbacks: whichever of the
# two is parsed second sees the other. A default of 1.0 alone cannot tell `--speed 1` apart.
def _speed_alone(context: typer.Context, param: typer.CallbackParam, value: float) -> float:
    if context.params.get("instant") and _given(context, param.name or "speed"):
        raise BadInput("--speed and --instant cannot be used together")
    return value


def _instant_alone(context: typer.Context, param: typer.CallbackParam, value: bool) -> bool:
    if value and _given(context, "speed"):
        raise BadInput("--speed and --instant cannot be used together")
    return value


def _check_wav_target(path: Path, log: Path) -> None:
    if path.is_dir():
        raise BadInput(f"--export-wav: {path} is a folder; name a .wav file")
    if not path.parent.is_dir():
        raise BadInput(f"--export-wav: {path.parent}: no such folder")
    if path.exists() and log.exists() and path.resolve() == log.resolve():
        raise BadInput(f"--export-wav: {path} is the log being replayed")


def _say(text: str) -> None:
    from tutor_cli.views.literal import printable

    print(f"tutor: {printable(text)}", file=sys.stderr, flush=True)


def replay(
    context: typer.Context,
    log: Annotated[
        Path,
        typer.Argument(
            metavar="LOG",
            help="An event log (.jsonl or .jsonl.gz, as calls save them under "
            "TUTOR_HOME/sessions), or bare JSONL with one Realtime event per line.",
            show_default=False,
        ),
    ],
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            metavar="FACTOR",
            help="Play this many times faster than the lesson went (0.5: half speed).",
            callback=_speed_alone,
        ),
    ] = 1.0,
    instant: Annotated[
        bool,
        typer.Option(
            "--instant",
            help="Replay at once, without the lesson's pauses (the default when the output is "
            "not a terminal and no --speed is given).",
            callback=_instant_alone,
        ),
    ] = False,
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            help="Print the transcript with time offsets and a summary instead of playing "
            "the lesson on the call screen (what happens anyway when the output is not a "
            "terminal).",
        ),
    ] = False,
    no_audio: Annotated[
        bool,
        typer.Option(
            "--no-audio",
            help="Do not play the tutor's voice through the speaker (replays with --instant "
            "or --json are always silent; --export-wav saves the audio to a file).",
        ),
    ] = False,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="MM:SS",
            help="Start showing at this offset (MM:SS or seconds); the summary still covers "
            "the whole lesson.",
        ),
    ] = None,
    export_wav: Annotated[
        Path | None,
        typer.Option(
            "--export-wav",
            metavar="FILE",
            help="Write the whole lesson's audio (24 kHz mono WAV) on its timeline: the tutor, "
            "silence between turns, interruptions cut, and your voice if the log kept it.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the transcript and summary as one JSON object, without pauses."
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Fail at the first bad line (with its number) instead of skipping."
        ),
    ] = False,
) -> None:
    """Play a saved lesson back on the call screen (space pauses, + and - change the speed,
    the arrows seek 10 s, q quits), or print it with --headless: the transcript with time
    offsets, the tool calls and the summary. Tools are shown, never run; nothing is stored or
    sent anywhere."""
    if not math.isfinite(speed) or speed <= 0:
        raise BadInput(f"--speed: {speed:g} must be a number more than 0")
    if instant and speed != 1.0:  # called as a function; on the command line, see _speed_alone
        raise BadInput("--speed and --instant cannot be used together")
    start_at = parse_offset(from_) if from_ is not None else 0.0
    if export_wav is not None:
        _check_wav_target(export_wav, log)

    if not headless and not as_json and sys.stdout.isatty():
        code = _on_screen(log, speed, instant, start_at, strict, no_audio, export_wav)
        raise typer.Exit(code)
    if not sys.stdout.isatty() and not _given(context, "speed"):
        instant = True  # nobody watches a pipe or a file: pauses would only keep it waiting

    from tutor_cli.replay.playback import Replay
    from tutor_cli.replay.sound import LazySpeaker
    from tutor_cli.views.replay_text import TranscriptPrinter, bad_lines_note

    view = TranscriptPrinter(as_json=as_json)
    speaker = None if no_audio or instant or as_json else LazySpeaker(_say)
    summary = Replay(
        log,
        view,
        speed=speed,
        instant=instant or as_json,  # nothing to watch until the JSON is printed
        start_at=start_at,
        strict=strict,
        export_wav=export_wav,
        notify=_say,
        speaker=speaker,
    ).run()
    if speaker is not None:
        speaker.close()
    view.finish(summary)
    note = bad_lines_note(summary)
    if note:
        _say(note)
    raise typer.Exit(0)


class _Unseen:
    """A view that shows nothing (the WAV export before the call-screen replay)."""

    def begin(self, info: Any) -> None:
        pass

    def show(self, update: Any, at: float | None) -> None:
        pass


def _on_screen(
    log: Path,
    speed: float,
    instant: bool,
    start_at: float,
    strict: bool,
    no_audio: bool,
    export_wav: Path | None,
) -> int:
    """The replay on the call screen; its exit code. A WAV export is written first, in one
    pass (seeking on the screen would cut it)."""
    from tutor_cli.replay.playback import Replay
    from tutor_cli.replay.sound import LazySpeaker
    from tutor_cli.tui.app import ReplayApp
    from tutor_cli.views.replay_text import bad_lines_note

    if export_wav is not None:
        written = Replay(
            log, _Unseen(), instant=True, strict=strict, export_wav=export_wav, notify=_say
        ).run()
        _say(f"{export_wav}: {written.wav_seconds or 0:.1f} s of audio written")
    speaker = None if no_audio or instant else LazySpeaker(_say)
    app = ReplayApp(
        log, speed=speed, instant=instant, start_at=start_at, strict=strict, speaker=speaker
    )
    if speaker is not None:
        speaker.say = app.say
    try:
        code = app.run() or 0
    finally:
        if speaker is not None:
            speaker.close()
    if app.error is not None:
        raise app.error
    if app.summary is not None and (note := bad_lines_note(app.summary)):
        _say(note)
    return code
