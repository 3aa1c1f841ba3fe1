"""A markdown editor: a TextArea with markdown highlighting, and a live preview on a toggle.

The widget only edits and shows text; saving is the screen's business. It posts
:class:`MarkdownEditor.Edited` for the user's own edits, never for text the screen loads.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, TextArea

from widgets.untrusted import clean


class MarkdownEditor(Vertical):
    DEFAULT_CSS = """
    MarkdownEditor {
        height: 1fr;
    }
    MarkdownEditor > TextArea {
        height: 1fr;
        border: round $panel-lighten-2;
    }
    MarkdownEditor > TextArea:focus {
        border: round $primary;
    }
    MarkdownEditor > Markdown {
        height: 1fr;
        display: none;
        border: round $secondary;
        overflow-y: auto;
        padding: 0 1;
    }
    MarkdownEditor.-preview > TextArea {
        display: none;
    }
    MarkdownEditor.-preview > Markdown {
        display: block;
    }
    """

    class Edited(Message):
        """The user changed the text."""

        def __init__(self, editor: MarkdownEditor, text: str):
            super().__init__()
            self.editor = editor
            self.text = text

        @property
        def control(self) -> MarkdownEditor:
            return self.editor

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self._loaded = ""  # the text last loaded by the screen: its Changed is not an edit
        self._area = TextArea.code_editor(
            "",
            language="markdown",
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="indent",
            id="editor-text",
        )
        self._preview = Markdown("", id="editor-preview")

    def compose(self) -> ComposeResult:
        yield self._area
        yield self._preview

    @property
    def text_area(self) -> TextArea:
        return self._area

    @property
    def text(self) -> str:
        return self._area.text

    @property
    def previewing(self) -> bool:
        return self.has_class("-preview")

    @property
    def read_only(self) -> bool:
        return self._area.read_only

    @read_only.setter
    def read_only(self, flag: bool) -> None:
        self._area.read_only = flag

    def load(self, text: str) -> None:
        """Show ``text`` (from the replica or a merge), keeping the cursor where it can."""
        text = clean(text)
        if text == self._area.text:
            return
        cursor = self._area.cursor_location
        self._loaded = text
        self._area.load_text(text)
        row = min(cursor[0], self._area.document.line_count - 1)
        column = min(cursor[1], len(self._area.document.get_line(row)))
        self._area.cursor_location = (row, column)
        if self.previewing:
            self._preview.update(self._area.text)

    def toggle_preview(self) -> bool:
        self.toggle_class("-preview")
        if self.previewing:
            self._preview.update(self._area.text)
        else:
            self._area.focus()
        return self.previewing

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        if self._area.text == self._loaded:
            return
        if self.previewing:
            self._preview.update(self._area.text)
        self.post_message(self.Edited(self, self._area.text))

    def focus(self, scroll_visible: bool = True) -> MarkdownEditor:
        if self.previewing:
            self._preview.focus(scroll_visible)
        else:
            self._area.focus(scroll_visible)
        return self
