"""TwinSpace pages on the client: the tree from the replica, CRDT bodies, and their sync.

Every keystroke the editor reports becomes a small CRDT update saved at once (durably) in
the replica's page document and added to its pending update. A sync sends the replica's
state vector and that pending update, and applies the server's answer, which holds only what
the replica lacked; 500 queued keystrokes travel as one merged update in one request.
Offline, edits simply stay pending; :meth:`PageService.sync_all` sends them when the link
is back. Page metadata (create, rename, move, reorder, publish, delete) goes through the
sync engine's outbox like every other write.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, get_update

from api_client import crdt

log = logging.getLogger("esep_tui.pages")

PAGE = "page"
MATERIAL_BLOB = "material_blob"  # replica entity: {"data": base64} of a fetched file


def tree_path(project_id: str) -> str:
    return f"/projects/{project_id}/pages"


@dataclass
class SyncOutcome:
    """What a sync of one page did."""

    page_id: str
    sent: bool = False  # the server answered
    merged_from_others: bool = False  # someone else's text came in
    text_changed: bool = False  # the local text is different now
    queued: bool = False  # offline: the edits wait in the replica
    error: str | None = None  # the server refused (message to show); edits are kept
    code: str | None = None
    bytes_sent: int = 0


def order_tree(items: list[dict]) -> list[tuple[dict, int]]:
    """Pages in tree order (parent before children, siblings by position) with their depth.
    A page whose parent is unknown shows at the top level, so nothing is ever hidden."""
    ids = {p["id"] for p in items}
    children: dict[str | None, list[dict]] = {}
    for page in items:
        parent = page.get("parent_id") if page.get("parent_id") in ids else None
        children.setdefault(parent, []).append(page)
    for group in children.values():
        group.sort(key=lambda p: (p.get("position", 0), p.get("title", ""), p["id"]))
    result: list[tuple[dict, int]] = []
    seen: set[str] = set()
    stack = [(p, 0) for p in reversed(children.get(None, []))]
    while stack:
        page, depth = stack.pop()
        if page["id"] in seen:
            continue
        seen.add(page["id"])
        result.append((page, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(page["id"], [])))
    return result


class PageService:
    """Pages of one TwinSpace over a :class:`~esep_tui.sync.SyncEngine`."""

    def __init__(self, engine: Any, project_id: str):
        self.engine = engine
        self.store = engine.store
        self.client = engine.client
        self.project_id = project_id
        self._client_id: int | None = None

    # ------------------------------------------------------------ the tree

    def tree_snapshot(self, *, refresh: bool = True) -> dict | None:
        """The cached tree answer (``permissions``, ``project_state``, ``items``)."""
        snap = self.engine.read(PAGE, path=tree_path(self.project_id), refresh=refresh)
        return snap.data if isinstance(snap.data, dict) else None

    async def fetch_tree(self) -> dict | None:
        before = self.store.get_query(PAGE, tree_path(self.project_id))
        snap = await self.engine.fetch(PAGE, path=tree_path(self.project_id))
        tree = snap.data if isinstance(snap.data, dict) else None
        after = self.store.get_query(PAGE, tree_path(self.project_id))
        if tree is not None and after is not None and (before is None or after[1] != before[1]):
            # a fresh answer: pages it no longer lists are gone (deleted by someone else)
            listed = {p["id"] for p in tree.get("items", [])}
            for entity in self.store.list_entities(PAGE):
                data = entity.data if isinstance(entity.data, dict) else {}
                if (
                    data.get("project_id") == self.project_id
                    and entity.id not in listed
                    and not self.is_queued(entity.id)
                ):
                    self.store.delete_entity(PAGE, entity.id)
        return tree

    def pages(self, tree: dict | None = None) -> list[tuple[dict, int]]:
        """The tree as the user should see it now: the server's last answer with this
        replica's queued changes on top (offline creations, renames, moves, deletions)."""
        tree = tree if tree is not None else self.tree_snapshot(refresh=False)
        base = list(tree.get("items", [])) if tree else []
        outbox = self.store.outbox
        deleting = {
            item.entity_id
            for item in outbox.items(("queued", "sending", "rejected", "conflict"))
            if item.entity_kind == PAGE and item.method == "DELETE"
        }
        result: dict[str, dict] = {}
        for page in base:
            entity = self.store.get_entity(PAGE, page["id"], include_deleted=True)
            if entity is not None and entity.deleted:
                continue
            if entity is not None and entity.dirty and isinstance(entity.data, dict):
                page = {**page, **entity.data}
            result[page["id"]] = page
        for entity in self.store.list_entities(PAGE):
            data = entity.data
            if (
                isinstance(data, dict)
                and data.get("project_id") == self.project_id
                and entity.id not in result
            ):  # made here (queued, or accepted since the tree was last fetched)
                result[entity.id] = {"project_id": self.project_id, "position": 0, **data}
        gone = set(deleting) | {
            p["id"]
            for p in base
            if (e := self.store.get_entity(PAGE, p["id"], include_deleted=True)) and e.deleted
        }
        parents = {p["id"]: p.get("parent_id") for p in result.values()}

        def under_gone(page_id: str | None) -> bool:
            seen = 0
            while page_id is not None and seen < 64:  # a deleted page takes its subpages
                if page_id in gone:
                    return True
                page_id, seen = parents.get(page_id), seen + 1
            return False

        return order_tree([p for p in result.values() if not under_gone(p["id"])])

    # ------------------------------------------------------------ metadata writes

    def create(
        self,
        title: str,
        *,
        parent_id: str | None = None,
        position: int | None = None,
        status: str = "draft",
        text: str = "",
    ) -> str:
        """A new page, usable at once offline: its document is made here and travels with
        the create, so later syncs of it merge cleanly."""
        from esep_tui.sync import new_id

        page_id = new_id()
        doc = crdt.new_doc(text, client_id=self.client_id)
        full = doc.get_update()
        self.store.save_page(page_id, doc=full, server_state=b"\x00")
        body: dict[str, Any] = {"title": title, "parent_id": parent_id, "status": status}
        if position is not None:
            body["position"] = position
        body["update"] = crdt.b64encode(full)
        self.engine.create(PAGE, tree_path(self.project_id), body, id=page_id)
        # the optimistic copy must not carry the document (the replica has it)
        entity = self.store.get_entity(PAGE, page_id)
        if entity is not None and isinstance(entity.data, dict):
            data = {k: v for k, v in entity.data.items() if k != "update"}
            data.setdefault("project_id", self.project_id)
            # just before the page now at that place, until the server renumbers them
            data["position"] = position - 0.5 if position is not None else 10**6
            data["version"] = 1  # what the server gives a new page (If-Match of later edits)
            self.store.put_entity(PAGE, page_id, data, dirty=True)
        return page_id

    def patch(self, page: dict, **changes: Any) -> None:
        """Rename, move, reorder or publish (``If-Match`` the version last seen)."""
        # each accepted PATCH bumps the version by one: a second change queued behind this
        # one must name the version this one will leave
        shown = {**changes, "version": int(page.get("version") or 1) + 1}
        if "position" in changes and "parent_id" not in changes:
            # between the two pages it moves between, until the server renumbers them
            old = page.get("position", 0)
            shown["position"] = changes["position"] + (-0.5 if changes["position"] < old else 0.5)
        self.engine.write(
            "PATCH",
            f"/pages/{page['id']}",
            changes,
            entity=(PAGE, page["id"]),
            optimistic=shown,
            if_match=page.get("version"),
        )

    def delete(self, page: dict) -> None:
        self.engine.write(
            "DELETE",
            f"/pages/{page['id']}",
            entity=(PAGE, page["id"]),
            if_match=page.get("version"),
        )

    def is_queued(self, page_id: str) -> bool:
        """The page's create (or another change) still waits in the outbox."""
        return bool(self.store.outbox.open_for(PAGE, page_id))

    # ------------------------------------------------------------ bodies

    @property
    def client_id(self) -> int:
        """This replica's CRDT client id, kept for good: every local edit then extends one
        entry of the state vector instead of adding a new one (small syncs, compact merges).
        Safe because the replica's document always holds all of this client's edits."""
        if self._client_id is None:
            kept = self.store.get_meta("crdt_client_id")
            if kept is None:
                kept = str(secrets.randbelow(2**31 - 2) + 1)
                self.store.set_meta("crdt_client_id", kept)
            self._client_id = int(kept)
        return self._client_id

    def document(self, page_id: str) -> Doc | None:
        row = self.store.get_page(page_id)
        if row is None or not row.doc:
            return None
        return crdt.doc_from_update(row.doc, client_id=self.client_id)

    def text(self, page_id: str) -> str | None:
        doc = self.document(page_id)
        return None if doc is None else crdt.get_text(doc)

    def has_pending(self, page_id: str) -> bool:
        row = self.store.get_page(page_id)
        return bool(row and row.pending)

    def pending_pages(self) -> list[str]:
        rows = self.store.query("SELECT page_id FROM pages WHERE pending IS NOT NULL")
        return [r["page_id"] for r in rows]

    def edit(self, page_id: str, text: str) -> bool:
        """Save the editor's text in the replica now (durably); True when it changed."""
        doc = self.document(page_id)
        if doc is None:
            doc = crdt.new_doc(client_id=self.client_id)
            self.store.save_page(page_id, doc=doc.get_update())
        before = doc.get_state()
        if not crdt.set_text(doc, text):
            return False
        self.store.add_page_update(page_id, doc.get_update(before))
        return True

    async def load(self, page_id: str) -> str | None:
        """The body from the replica; fetched whole once when the replica has none."""
        text = self.text(page_id)
        if text is not None:
            return text
        from api_client.errors import ApiError

        try:
            data = await self.client.request("GET", f"/pages/{page_id}")
        except ApiError as exc:
            log.info("page %s not fetched: %s", page_id, exc.code)
            return None
        doc = crdt.doc_from_update(crdt.b64decode(data["doc"]))
        if self.text(page_id) is None:  # nobody typed meanwhile
            self.store.save_page(
                page_id, doc=doc.get_update(), server_state=doc.get_state(), clear_pending=True
            )
        return self.text(page_id)

    async def sync(self, page_id: str) -> SyncOutcome:
        """Send the pending update with the state vector; apply only the returned diff."""
        from api_client.errors import ApiError, Offline, Rejected, Transient

        outcome = SyncOutcome(page_id)
        if self.is_queued(page_id) or self.engine.work_offline:
            outcome.queued = True
            return outcome
        row = self.store.get_page(page_id)
        if row is None or not row.doc:
            await self.load(page_id)
            outcome.sent = self.text(page_id) is not None
            return outcome
        doc = crdt.doc_from_update(row.doc, client_id=self.client_id)
        sent_pending = row.pending
        update = sent_pending
        if sent_pending and row.server_state:
            # the document encodes a run of keystrokes as one item: smaller than the merged
            # per-keystroke updates, and still everything the server lacks
            compact = doc.get_update(row.server_state)
            update = compact if len(compact) < len(sent_pending) else sent_pending
        body = {
            "state_vector": crdt.b64encode(doc.get_state()),
            "update": crdt.b64encode(update) if update else None,
        }
        outcome.bytes_sent = len(body["state_vector"]) + len(body["update"] or "")
        try:
            answer = (await self.client.send("POST", f"/pages/{page_id}/sync", json=body)).data
        except (Offline, Transient):
            outcome.queued = True
            return outcome
        except Rejected as exc:
            if exc.status == 404:
                outcome.error, outcome.code = exc.message, "gone"
                return outcome
            outcome.error, outcome.code = exc.message, exc.code
            return outcome
        except ApiError as exc:
            outcome.error, outcome.code = exc.message, exc.code
            return outcome
        outcome.sent = True
        # typing may have gone on while the request was out: start from the replica's copy
        current = self.store.get_page(page_id)
        doc = crdt.doc_from_update(
            current.doc if current and current.doc else row.doc, client_id=self.client_id
        )
        before = crdt.get_text(doc)
        crdt.apply_update(doc, crdt.b64decode(answer["update"]))
        outcome.text_changed = crdt.get_text(doc) != before
        outcome.merged_from_others = bool(answer.get("merged_from_others")) and (
            outcome.text_changed
        )
        server_state = crdt.b64decode(answer["state_vector"])
        newer = current.pending if current else None
        if not answer.get("applied_fully", True):
            rest: bytes | None = doc.get_update(server_state)
        elif newer and newer != sent_pending:
            rest = get_update(newer, server_state)  # only what the server still lacks
        else:
            rest = None
        if rest is not None and not crdt.has_insertions(rest) and newer == sent_pending:
            rest = None
        self.store.save_page(
            page_id,
            doc=doc.get_update(),
            server_state=server_state,
            pending=rest,
            clear_pending=rest is None,
        )
        return outcome

    async def sync_all(self) -> list[SyncOutcome]:
        """Send queued metadata first (a page must exist before its body syncs), then every
        page with pending edits."""
        if self.engine.work_offline:
            return []
        await self.engine.flush(force=True)
        return [await self.sync(page_id) for page_id in self.pending_pages()]

    # ------------------------------------------------------------ materials

    async def material_bytes(self, material_id: str) -> bytes:
        """A material's file, from the replica when it was fetched before (offline reading)."""
        import base64

        from api_client.errors import error_for_status

        blob = self.store.get_entity(MATERIAL_BLOB, material_id)
        if blob is not None and isinstance(blob.data, dict):
            return base64.b64decode(blob.data["data"])
        path = f"/materials/{material_id}"
        request = self.client._build(
            "GET", path, json=None, content=None, params=None, headers={}, auth=True
        )
        response, body = await self.client._exchange(request)
        if response.status_code >= 400:
            import json

            try:
                data = json.loads(body)
            except ValueError:
                data = None
            raise error_for_status(response.status_code, data, method="GET", path=path)
        self.store.put_entity(
            MATERIAL_BLOB, material_id, {"data": base64.b64encode(body).decode("ascii")}
        )
        return body

    # ------------------------------------------------------------ history

    async def history(self, page_id: str) -> list[dict]:
        data = await self.client.request("GET", f"/pages/{page_id}/history")
        return list(data.get("items", []))

    async def restore(self, page_id: str, revision_id: int) -> str:
        """Bring back an old version (an ordinary edit on the server), then merge it here."""
        await self.sync(page_id)
        await self.client.request(
            "POST", f"/pages/{page_id}/restore", json={"revision_id": revision_id}
        )
        await self.sync(page_id)
        return self.text(page_id) or ""


async def settle(engine: Any, item: Any) -> Any:
    """Try to send a queued write now; the outbox item afterwards (its ``state`` says
    done / queued (offline) / rejected / conflict, with the server's message and reasons)."""
    if not engine.work_offline:
        await engine.flush(force=True)
    return engine.store.outbox.get(item.seq)
