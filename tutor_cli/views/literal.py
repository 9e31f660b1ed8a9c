"""Text from a model, a log or a scenario file, made safe to show as text.

Two halves. Rich markup is avoided by building `rich.text.Text` objects, never markup strings:
`literal` is the one way every view builds one. Control characters, which a terminal would
obey (escape sequences can move the cursor, retitle the window or hide text), are shown as
visible symbols: `printable`, which `tutor list` uses without loading rich at all.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# C0 controls but tab and newline, DEL, and C1 controls (0x9b is a one-byte CSI); and lone
# surrogates, which no terminal encoding can write.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code >= 0xD800:
        return "\ufffd"
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures" block: ␛ for ESC
    return "␡" if code == 0x7F else f"<{code:02x}>"


def printable(text: str) -> str:
    """`text` with every control character but tab and newline replaced by a visible symbol
    (and a lone surrogate by U+FFFD)."""
    return _CONTROL.sub(_visible, text)


def literal(text: str, style: str = "") -> Text:
    """`text` as a rich `Text` of plain characters: no markup, control characters visible."""
    from rich.text import Text  # here, so that `printable` alone costs no rich import

    return Text(printable(text), style=style)
