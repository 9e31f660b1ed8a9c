"""A plain aligned table for `tutor list`.

`tutor list` is the command people run most, and importing `rich.console` alone costs more
than its whole start-up budget, so the catalogue table is laid out here with the standard
library. Cell widths count East Asian wide characters as two columns.
"""

from __future__ import annotations

import shutil
import sys
import unicodedata
from collections.abc import Sequence

from tutor_cli.views.literal import printable


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _clip(text: str, width: int) -> str:
    if cell_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        if used + cell_width(char) > width - 1:
            break
        out += char
        used += cell_width(char)
    return out + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - cell_width(text))
    return gap + text if right else text + gap


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right_aligned: Sequence[int] = (),
    shrink: int | None = None,
    width: int | None = None,
    bold_header: bool | None = None,
) -> str:
    """Rows under a header, columns two spaces apart; column `shrink` is clipped to fit."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    bold_header = sys.stdout.isatty() if bold_header is None else bold_header
    cells = [[printable(str(c)).replace("\n", " ") for c in row] for row in rows]
    widths = [
        max([cell_width(h)] + [cell_width(r[i]) for r in cells]) for i, h in enumerate(headers)
    ]
    if shrink is not None:
        others = sum(w for i, w in enumerate(widths) if i != shrink) + 2 * (len(widths) - 1)
        widths[shrink] = max(cell_width(headers[shrink]), min(widths[shrink], width - others))
    gap = "  "

    def line(values: Sequence[str]) -> str:
        return gap.join(
            _pad(_clip(v, widths[i]), widths[i], i in right_aligned) for i, v in enumerate(values)
        ).rstrip()

    head = line(headers)
    if bold_header:
        head = f"\x1b[1m{head}\x1b[0m"
    rule = gap.join("─" * w for w in widths)
    return "\n".join([head, rule, *(line(r) for r in cells)])
