"""Page bodies as pycrdt documents: the helpers both the server and the client use.

A page body is a :class:`pycrdt.Doc` with one root, a ``Text`` named ``body`` holding markdown.
On the wire, updates and state vectors travel as standard base64.

Sync, from the client's side::

    doc = doc_from_update(b64decode(page.doc))        # or new_doc() for a page made offline
    set_text(doc, editor_text)                        # local edits become minimal CRDT ops
    req = {"state_vector": b64encode(doc.get_state()),
           "update": b64encode(doc.get_update(server_state))}   # what the server lacks
    ans = post("/pages/{id}/sync", req)
    changed = apply_remote(doc, b64decode(ans["update"]))      # True: someone else's text
    server_state = b64decode(ans["state_vector"])

pycrdt's ``Text`` indexes by UTF-8 byte offsets (and panics on an offset inside a character);
:func:`set_text` converts from Python string positions, so callers never see bytes.
"""

from __future__ import annotations

import base64
import binascii
import difflib

from pycrdt import Doc, Text

BODY = "body"
# the middle part of an edit is diffed finely only when small; beyond, it is one replacement
_FINE_DIFF_LIMIT = 20_000


class CrdtError(ValueError):
    """Bytes that are not a valid update or state vector."""


def new_doc(text: str = "", *, client_id: int | None = None) -> Doc:
    """A fresh page document whose body holds ``text``."""
    doc = Doc(client_id=client_id) if client_id is not None else Doc()
    doc[BODY] = Text(text)
    return doc


def body(doc: Doc) -> Text:
    return doc.get(BODY, type=Text)


def get_text(doc: Doc) -> str:
    return str(body(doc))


def _byte_offset(s: str, index: int) -> int:
    return len(s[:index].encode("utf-8"))


def _common_affixes(old: str, new: str) -> tuple[int, int]:
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
        end += 1
    return start, end


def edit_ops(old: str, new: str) -> list[tuple[int, int, str]]:
    """Edits turning ``old`` into ``new``: (start, end, replacement) in ``old``'s positions,
    in descending order so each can be applied without shifting the next."""
    if old == new:
        return []
    start, end = _common_affixes(old, new)
    old_mid, new_mid = old[start : len(old) - end], new[start : len(new) - end]
    if not old_mid or not new_mid or len(old_mid) + len(new_mid) > _FINE_DIFF_LIMIT:
        return [(start, len(old) - end, new_mid)]
    matcher = difflib.SequenceMatcher(None, old_mid, new_mid, autojunk=False)
    ops = [
        (start + i1, start + i2, new_mid[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    return sorted(ops, reverse=True)


def set_text(doc: Doc, new: str) -> bool:
    """Make the body equal ``new`` with the smallest edits (so concurrent edits elsewhere in
    the page still merge). Returns whether anything changed."""
    text = body(doc)
    old = str(text)
    ops = edit_ops(old, new)
    if not ops:
        return False
    with doc.transaction():
        for start, end, replacement in ops:  # descending: earlier offsets stay valid
            b_start, b_end = _byte_offset(old, start), _byte_offset(old, end)
            if b_end > b_start:
                del text[b_start:b_end]
            if replacement:
                text.insert(b_start, replacement)
    return True


def apply_update(doc: Doc, update: bytes) -> None:
    """Apply bytes from elsewhere; invalid bytes raise :class:`CrdtError`, never a panic."""
    try:
        doc.apply_update(update)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pycrdt raises ValueError; a Rust panic is a BaseException
        raise CrdtError(f"not a valid document update: {exc}") from None


def apply_remote(doc: Doc, update: bytes) -> bool:
    """Apply a server diff; True when it changed the text (someone else's edit came in)."""
    before = get_text(doc)
    apply_update(doc, update)
    return get_text(doc) != before


def doc_from_update(update: bytes, *, client_id: int | None = None) -> Doc:
    doc = Doc(client_id=client_id) if client_id is not None else Doc()
    if update:
        apply_update(doc, update)
    body(doc)  # make sure the root exists with the right type
    return doc


def diff_since(doc: Doc, state_vector: bytes | None) -> bytes:
    """What a peer with ``state_vector`` lacks (everything, for None)."""
    if not state_vector:
        return doc.get_update()
    decode_state_vector(state_vector)  # refuses garbage before pycrdt sees it
    try:
        return doc.get_update(state_vector)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise CrdtError(f"not a valid state vector: {exc}") from None


def _read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise CrdtError("state vector ends in the middle of a number")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise CrdtError("state vector number too large")


def decode_state_vector(data: bytes) -> dict[int, int]:
    """A state vector's {client id: clock}; raises :class:`CrdtError` on anything else."""
    count, pos = _read_var_uint(data, 0)
    if count > len(data):
        raise CrdtError("state vector claims more entries than it has bytes")
    result: dict[int, int] = {}
    for _ in range(count):
        client, pos = _read_var_uint(data, pos)
        clock, pos = _read_var_uint(data, pos)
        result[client] = clock
    if pos != len(data):
        raise CrdtError("state vector has trailing bytes")
    return result


def update_state(update: bytes) -> dict[int, int]:
    """The {client id: clock} an update's insertions reach."""
    from pycrdt import get_state

    try:
        return decode_state_vector(get_state(update))
    except CrdtError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        raise CrdtError(f"not a valid document update: {exc}") from None


def covers(state: dict[int, int], other: dict[int, int]) -> bool:
    """True when ``state`` has seen everything ``other`` has."""
    return all(state.get(client, 0) >= clock for client, clock in other.items())


def has_insertions(update: bytes) -> bool:
    """True when an update carries inserted content (not only deletions)."""
    try:
        count, _pos = _read_var_uint(update, 0)
    except CrdtError:
        return False
    return count > 0


def fully_applied(doc: Doc, update: bytes) -> bool:
    """False when part of ``update`` waits for changes ``doc`` has not received yet."""
    from pycrdt import get_update

    try:
        rest = get_update(update, doc.get_state())
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        return False
    return not has_insertions(rest)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(data: str) -> bytes:
    """Strict standard base64; anything else raises :class:`CrdtError`."""
    try:
        return base64.b64decode(data.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise CrdtError(f"not valid base64: {exc}") from None
