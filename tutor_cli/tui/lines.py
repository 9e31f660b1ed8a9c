"""A bounded, virtualised list of text entries: the base of the transcript and the event log.

Each entry is a `rich.text.Text` (never markup) wrapped once to the widget's width and kept as
strips; only the visible lines are drawn (Textual's Line API). Replacing an entry re-wraps that
entry alone, so a tutor turn streaming in costs the length of the turn, not of the lesson. The
oldest entries are dropped past `max_entries`, so a long lesson keeps a bounded footprint.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LineList(ScrollView, can_focus=True):
    """Text entries shown top to bottom, each replaceable by its key; follows the end while the
    view is scrolled to the bottom."""

    DEFAULT_CSS = """
    LineList {
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    """

    def __init__(
        self,
        *,
        max_entries: int = 2000,
        wrap: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_entries = max_entries
        self.wrap = wrap
        self._next_key = 0
        self._keys: list[int] = []
        self._texts: list[Text] = []
        self._strips: list[list[Strip]] = []  # each entry's lines at `_width`
        self._position: dict[int, int] = {}  # key -> index + `_dropped`
        self._dropped = 0
        self._lines: list[Strip] = []  # every entry's lines, in order
        self._starts: list[int] = []  # index in `_lines` of each entry's first line
        self._width = 0
        # Drawn lines (cropped, styled) by index, valid while the source strip is the same.
        self._drawn: dict[int, tuple[Strip, int, int, Style, Strip]] = {}
        self._style: Style | None = None  # the widget's base style, until the styles change

    # --- what callers use ------------------------------------------------------------------------

    @property
    def entry_count(self) -> int:
        return len(self._texts)

    def append(self, text: Text) -> int:
        """Add an entry at the end; returns its key."""
        key = self._next_key
        self._next_key += 1
        self._position[key] = len(self._keys) + self._dropped
        self._keys.append(key)
        self._texts.append(text)
        strips = self._wrap(text)
        self._strips.append(strips)
        self._starts.append(len(self._lines))
        self._lines.extend(strips)
        if len(self._texts) > self.max_entries:
            # Drop a tenth at once so the rebuild it costs is paid rarely.
            self._drop(max(1, self.max_entries // 10))
        self._changed()
        return key

    def replace(self, key: int, text: Text) -> bool:
        """Put `text` in place of entry `key`; False if that entry is gone."""
        position = self._position.get(key)
        if position is None:
            return False
        index = position - self._dropped
        old = self._strips[index]
        new = self._wrap(text)
        self._texts[index] = text
        self._strips[index] = new
        start = self._starts[index]
        if len(new) == len(old):
            self._lines[start : start + len(old)] = new
            self.refresh_lines(start, len(new))  # the rest of the view is unchanged
            return True
        del self._lines[start:]
        for later in range(index, len(self._texts)):
            self._starts[later] = len(self._lines)
            self._lines.extend(self._strips[later])
        self._changed()
        return True

    def has(self, key: int) -> bool:
        """Whether entry `key` is still kept."""
        return key in self._position

    def text_of(self, key: int) -> Text | None:
        position = self._position.get(key)
        return None if position is None else self._texts[position - self._dropped]

    def clear(self) -> None:
        self._keys.clear()
        self._texts.clear()
        self._strips.clear()
        self._position.clear()
        self._lines.clear()
        self._starts.clear()
        self._drawn.clear()
        self._dropped = 0
        self._changed()

    def plain(self) -> str:
        """Every entry's text, one per line (for tests and copying)."""
        return "\n".join(text.plain for text in self._texts)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    # --- layout ----------------------------------------------------------------------------------

    def _wrap(self, text: Text) -> list[Strip]:
        if self._width <= 0 or not self.is_attached:
            return []  # laid out on the first resize
        console = self.app.console
        options = console.options.update(width=self._width, highlight=False, markup=False)
        if not self.wrap:
            options = options.update(no_wrap=True, overflow="ellipsis")
        lines = console.render_lines(text, options, pad=False)
        return [Strip(Segment.simplify(line)) for line in lines]

    def _rebuild(self) -> None:
        self._lines = []
        for index, strips in enumerate(self._strips):
            self._starts[index] = len(self._lines)
            self._lines.extend(strips)

    def _drop(self, count: int) -> None:
        for key in self._keys[:count]:
            del self._position[key]
        removed_lines = self._starts[count] if count < len(self._starts) else len(self._lines)
        del self._keys[:count], self._texts[:count], self._strips[:count], self._starts[:count]
        self._dropped += count
        self._rebuild()
        self._drawn.clear()
        # Textual releases the anchor when the reader scrolls away from the end (there is no
        # public getter for it); then keep what they are looking at in place.
        if getattr(self, "_anchor_released", False):
            self.scroll_to(y=max(0, self.scroll_y - removed_lines), animate=False, immediate=True)

    def _changed(self) -> None:
        # While anchored (the default) Textual keeps the view at the end as the size grows;
        # scrolling up releases the anchor, scrolling back to the end restores it.
        self.virtual_size = Size(self._width, len(self._lines))
        self.refresh()

    def on_mount(self) -> None:
        self.anchor()

    def on_resize(self, event: Resize) -> None:
        width = self.scrollable_content_region.width
        if width == self._width:
            return
        self._width = width
        self._strips = [self._wrap(text) for text in self._texts]
        self._rebuild()
        self._drawn.clear()
        self._changed()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        self._drawn.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if self._style is None:
            self._style = self.rich_style
        style = self._style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        source = self._lines[index]
        drawn = self._drawn.get(index)
        if drawn is not None and drawn[0] is source and drawn[1:4] == (scroll_x, width, style):
            return drawn[4]
        strip = source.crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
        if len(self._drawn) > 4096:
            self._drawn.clear()
        self._drawn[index] = (source, scroll_x, width, style, strip)
        return strip
