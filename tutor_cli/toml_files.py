"""The TOML files a user hands us (scripts, answers, a relay's users), read one way: any problem
is one `BadInput` line naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tutor_cli.errors import BadInput


def read_toml(path: Path, *, missing: str = "no such file") -> dict[str, Any]:
    """The table in `path`; `missing` says what to tell when there is no such file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: {missing}") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    return parse_toml(path, text)


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """`text`, the content of `path`, parsed."""
    import tomllib  # here: most commands read no TOML, and start-up counts

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib parses arrays and inline tables recursively
        raise BadInput(f"{path}: invalid TOML: nested too deeply") from None
