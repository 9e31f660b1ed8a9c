"""`tutor devices`: the sound devices PortAudio sees, as a table."""

from __future__ import annotations

from rich.table import Table

from tutor_cli.audio.devices import Device
from tutor_cli.views.literal import literal


def device_table(found: list[Device]) -> Table:
    """Index, name, channels, rate, host API and which are the defaults; names as text."""
    table = Table(title="Sound devices", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("name")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    table.add_column("rate", justify="right")
    table.add_column("host API")
    table.add_column("default")
    for d in found:
        default = ", ".join(
            k for k, v in (("input", d.default_input), ("output", d.default_output)) if v
        )
        table.add_row(
            literal(str(d.index)),
            literal(d.name),
            literal(str(d.inputs)),
            literal(str(d.outputs)),
            literal(f"{d.default_rate:g}"),
            literal(d.hostapi),
            literal(default),
        )
    return table
