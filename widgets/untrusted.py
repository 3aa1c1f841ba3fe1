"""Text that came from a server or another user: shown as plain text, never as markup."""

from __future__ import annotations

import re

from textual.content import Content

# C0 and C1 control characters (ESC included) except tab and newline: a school name must not
# be able to move the cursor or change the terminal's colours
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: object) -> str:
    """The text with control characters removed."""
    return _CONTROL.sub("", "" if text is None else str(text))


def plain(text: object) -> Content:
    """Content that renders ``text`` literally: ``[@click=app.quit]`` stays visible text."""
    return Content(clean(text))
