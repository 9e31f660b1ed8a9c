"""The `tutor` command line: one module per command family (`lessons`, `call`, `replay`,
`system`). Commands parse options, build what they need, and map errors to exit codes: 0
success, 1 the session failed, 2 bad input, always one line, never a traceback.

Slow imports (textual, sounddevice, websockets, pydantic, numpy) happen inside the commands
that need them, so `tutor list` starts fast. The command modules keep their annotations as
objects (no `from __future__ import annotations`): Typer reads every command's signature at each
start, and string annotations cost it a compile and an eval each: 17 ms to build the commands
instead of 5.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tutor_cli import __version__
from tutor_cli.cli import call, lessons, replay, system
from tutor_cli.cli.options import HELP_OPTIONS, Command
from tutor_cli.errors import BadInput
from tutor_cli.views.literal import printable

app = typer.Typer(
    name="tutor",
    help="A terminal voice tutor: role-play lessons with a tutor you can talk to or type to.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,  # -h everywhere: commands inherit the root's
)


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


app.command("list", cls=Command)(lessons.list_scenarios)
app.command(cls=Command)(lessons.show)
app.command(cls=Command)(lessons.check)
app.command(cls=Command)(call.call)
app.command(cls=Command)(system.devices)
app.command(cls=Command)(system.doctor)
app.command(cls=Command)(lessons.progress)
app.command(cls=Command)(system.serve)
app.command(cls=Command)(replay.replay)


def _say(text: str) -> None:
    print(f"tutor: {printable(text)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        code = app(args=argv, prog_name="tutor", standalone_mode=False)
    except BadInput as exc:
        _say(str(exc))
        return 2
    except typer.TyperException as exc:  # a usage error: an unknown option, a bad choice
        message = exc.format_message()
        if "\n" in message:  # `tutor` alone: the help, as asked
            print(message, file=sys.stderr)
        else:
            command = getattr(getattr(exc, "ctx", None), "command_path", "tutor")
            _say(f"{message} (see '{command} --help')")
        return exc.exit_code
    except typer.Abort:
        return 1
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
