"""Errors the command line maps to exit codes."""


class BadInput(Exception):
    """Input the user can fix: an unknown scenario, an invalid file, a bad value.

    The message is one line that names the file, field or value; the command line prints it
    and exits with code 2, never with a traceback.
    """


def warn(message: str) -> None:
    """One line on standard error about something skipped or repaired; the command goes on.

    Standard error, so `--json` output stays clean; control characters in a file name are
    shown, not obeyed.
    """
    import sys

    from tutor_cli.views.literal import printable

    print(f"tutor: warning: {printable(message)}", file=sys.stderr)
