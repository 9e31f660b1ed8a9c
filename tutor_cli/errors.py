"""Errors the command line maps to exit codes."""


class BadInput(Exception):
    """Input the user can fix: an unknown scenario, an invalid file, a bad value.

    The message is one line that names the file, field or value; the command line prints it
    and exits with code 2, never with a traceback.
    """
