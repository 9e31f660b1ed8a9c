from __future__ import annotations

from tutor_cli.views.table import cell_width, format_table


def test_wide_and_combining_characters_count_as_terminal_columns() -> None:
    assert cell_width("abc") == 3
    assert cell_width("東京") == 4
    assert cell_width("e\u0301") == 1


def test_columns_align_and_the_shrinking_column_is_clipped() -> None:
    rows = [("a1_x", "Taxi in Bogotá, a long title indeed", "10"), ("b2_y", "東京の駅", "5")]
    text = format_table(("id", "title", "min"), rows, right_aligned=(2,), shrink=1, width=24)
    lines = text.splitlines()
    assert all(cell_width(line) <= 24 for line in lines)
    assert lines[2].startswith("a1_x  Taxi in") and lines[2].endswith("…   10")
    assert lines[3].startswith("b2_y  東京の駅") and lines[3].endswith("   5")
    assert cell_width(lines[3]) == cell_width(lines[2]) == cell_width(lines[1])


def test_control_characters_in_cells_are_made_visible() -> None:
    text = format_table(("t",), [("\x1b[2Jboom",)], bold_header=False)
    assert "\x1b" not in text and "␛[2Jboom" in text
