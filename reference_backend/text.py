"""Folding: how search matches what people type.

``Szkoła`` = ``szkola``, ``Straße`` = ``strasse``, ``Δημοτικό`` = ``δημοτικο``. Marks are stripped
after compatibility decomposition, case is folded, and the letters that do not decompose
(ł, ø, đ, æ, œ, ß, ı, þ) are spelled out the way people type them on a plain keyboard.
"""

from __future__ import annotations

import re
import unicodedata

_SPELLED = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "ſ": "s",
        "ς": "σ",  # Greek final sigma folds to sigma
    }
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Words too common in organisation names to narrow a search on their own are still indexed;
# ranking, not exclusion, handles them.
MAX_TOKEN = 80


def fold(text: str) -> str:
    """Lower-case, mark-free, keyboard-spelled form of ``text``."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", text.translate(_SPELLED))


def tokens(text: str) -> list[str]:
    """Folded words of ``text``, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        seen.setdefault(word[:MAX_TOKEN], None)
    return list(seen)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the folded word sets: the near-duplicate measure."""
    ta, tb = set(tokens(a)), set(tokens(b))
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)
