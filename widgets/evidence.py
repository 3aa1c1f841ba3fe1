"""The evidence behind one queue item, laid out so a decision needs no other screen.

Takes the wire JSON of ``/nso/{applications,organisations,projects}/{id}`` (the models in
``api_client.models.nso``) and renders it as plain text: every name, email and reason came
from users, so none of it is ever read as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from esep_tui.i18n import _
from widgets.untrusted import clean

WARN = "bold yellow"
BAD = "bold red"
GOOD = "green"
HEAD = "bold"


def _state_style(state: str) -> str:
    if state in ("validated", "etwinning_validated", "approved", "etwinning"):
        return GOOD
    if state in ("rejected", "etwinning_rejected", "non_etwinning"):
        return BAD
    return WARN


class _Lines:
    def __init__(self) -> None:
        self.text = Text()

    def heading(self, title: str) -> None:
        if self.text:
            self.text.append("\n")
        self.text.append(title + "\n", HEAD)

    def line(self, *parts: tuple[str, str] | str) -> None:
        for part in parts:
            if isinstance(part, tuple):
                self.text.append(clean(part[0]), part[1])
            else:
                self.text.append(clean(part))
        self.text.append("\n")


def _waited(lines: _Lines, data: dict) -> None:
    days = data.get("days_waiting", 0)
    style = BAD if data.get("overdue") else ""
    note = _(" (over the 7-day norm)") if data.get("overdue") else ""
    lines.line(_("Waiting: "), (_("{n} days").format(n=days) + note, style))


def _earlier(lines: _Lines, data: dict) -> None:
    earlier = data.get("earlier_decisions") or []
    if not earlier:
        return
    lines.heading(_("Earlier decisions"))
    for d in earlier[-5:]:
        reason = f" — {d['reason']}" if d.get("reason") else ""
        lines.line(
            f"{str(d.get('at', ''))[:16]}  {d.get('actor_name', '')}: {d.get('action')}{reason}"
        )


def application_text(data: dict) -> Text:
    lines = _Lines()
    person = data.get("applicant") or {}
    lines.line((person.get("name", ""), HEAD), f"  <{person.get('email', '')}>")
    lines.line(
        _("Capacity: "),
        data.get("capacity", ""),
        "  ",
        _("State: "),
        (data.get("state", ""), _state_style(data.get("state", ""))),
    )
    _waited(lines, data)
    if data.get("reason"):
        lines.line(_("Asked: "), (data["reason"], WARN))
    lines.heading(_("Roles"))
    roles = data.get("roles") or []
    if not roles:
        lines.line((_("No school on the profile."), BAD))
    for r in roles:
        org = r.get("organisation") or {}
        role_style = BAD if r.get("blocks_etwinning") else ""
        lines.line(
            (r.get("role_label") or r.get("role", ""), role_style),
            _(" at "),
            org.get("public_name", ""),
            f" ({org.get('city', '')}) ",
            (org.get("state", ""), _state_style(org.get("state", ""))),
            f" · {org.get('standing', '')}",
        )
    legacy = data.get("legacy")
    lines.heading(_("Legacy account"))
    if legacy:
        migrated = _("migrated") if legacy.get("migrated_at") else _("not migrated yet")
        lines.line(
            f"{legacy.get('platform', '')}: {legacy.get('first_name', '')} "
            f"{legacy.get('last_name', '')} <{legacy.get('email', '')}> · {migrated}"
        )
    else:
        lines.line(_("none linked"))
    dups = data.get("suspected_duplicates") or []
    lines.heading(_("Suspected duplicates"))
    if not dups:
        lines.line((_("none found"), GOOD))
    for d in dups:
        lines.line(
            (d.get("name", ""), WARN),
            f" <{d.get('email', '')}> {d.get('country', '')} · ",
            (d.get("state", ""), _state_style(d.get("state", ""))),
        )
    blockers = data.get("blockers") or []
    if blockers:
        lines.heading(_("Approval would be refused"))
        for b in blockers:
            lines.line(("• " + b.get("message", ""), BAD))
    _earlier(lines, data)
    return lines.text


def organisation_text(data: dict) -> Text:
    lines = _Lines()
    lines.line((data.get("public_name", ""), HEAD))
    if data.get("legal_name") and data.get("legal_name") != data.get("public_name"):
        lines.line(_("Legal name: "), data["legal_name"])
    lines.line(
        f"{data.get('type', '')} · {data.get('city', '')}, {data.get('region', '')} "
        f"({data.get('country', '')})"
    )
    number = data.get("school_number")
    if number:
        lines.line(_("School number: "), number)
    elif data.get("school_number_required"):
        lines.line(_("School number: "), (_("missing (required in this country)"), BAD))
    else:
        lines.line(_("School number: "), _("none (not required)"))
    if data.get("principal_name"):
        lines.line(
            _("Principal: "), f"{data['principal_name']} <{data.get('principal_email') or ''}>"
        )
    if data.get("website"):
        lines.line(_("Website: "), data["website"])
    _waited(lines, data)
    who = data.get("registered_by")
    lines.line(
        _("Registered by: "),
        f"{who.get('name', '')} <{who.get('email', '')}> " if who else _("unknown"),
        (who.get("state", ""), _state_style(who.get("state", ""))) if who else "",
    )
    lines.line(_("Members: "), str(data.get("members", 0)))
    dups = data.get("near_duplicates") or []
    lines.heading(_("Near-duplicates in the same city"))
    if not dups:
        lines.line((_("none found"), GOOD))
    for d in dups:
        same = _(" · same school number") if d.get("same_school_number") else ""
        lines.line(
            (d.get("public_name", ""), WARN),
            f" ({d.get('city', '')}) {round(100 * d.get('similarity', 0))}% · ",
            (d.get("state", ""), _state_style(d.get("state", ""))),
            (same, BAD),
        )
    _earlier(lines, data)
    return lines.text


def project_text(data: dict) -> Text:
    lines = _Lines()
    lines.line((data.get("title", ""), HEAD))
    lines.line(data.get("short_description", ""))
    lines.line(
        f"{data.get('scope', '')} · ",
        _("countries: "),
        ", ".join(data.get("countries") or []),
        f" · {data.get('age_min')}–{data.get('age_max')} ",
        _("years"),
        f" · {data.get('pupils_count')} ",
        _("pupils"),
    )
    _waited(lines, data)
    lines.heading(_("Founders"))
    for f in data.get("founders") or []:
        person = f.get("person") or {}
        school = f.get("school") or {}
        ok = f.get("validated")
        lines.line(
            f"{f.get('role', '')}: ",
            person.get("name", ""),
            f" ({person.get('country', '')}) ",
            (_("validated") if ok else _("not validated"), GOOD if ok else BAD),
            f" · {school.get('public_name', '')} " if school else "",
            (school.get("state", ""), _state_style(school.get("state", ""))) if school else "",
        )
    lines.heading(_("Approvals"))
    for a in data.get("approvals") or []:
        who = f" {a['decided_by_name']}" if a.get("decided_by_name") else ""
        reason = f" — {a['reason']}" if a.get("reason") else ""
        lines.line(
            f"{a.get('country', '')}: ",
            (a.get("state", ""), _state_style(a.get("state", ""))),
            who + reason,
        )
    if data.get("scope") == "european":
        other = _("yes") if data.get("other_nso_decided") else _("not yet")
        lines.line(_("Other NSO decided: "), other)
    _earlier(lines, data)
    return lines.text


RENDERERS = {
    "application": application_text,
    "organisation": organisation_text,
    "project": project_text,
}


def evidence_text(kind: str, data: dict[str, Any] | None) -> Text:
    if data is None:
        return Text(_("Loading the evidence…"), style="dim")
    try:
        return RENDERERS[kind](data)
    except (KeyError, TypeError, AttributeError):
        return Text(_("This item's evidence could not be shown."), style=BAD)


class EvidencePane(VerticalScroll, can_focus=False):
    """The evidence of the highlighted item (plain text; scrolls when long)."""

    DEFAULT_CSS = """
    EvidencePane {
        height: 1fr;
        border-top: solid $panel;
        padding: 0 1;
    }
    EvidencePane > Static {
        width: 1fr;
    }
    """

    def compose(self):
        yield Static("", id="evidence-body", markup=False)

    def show(self, kind: str | None, data: dict | None, note: Text | None = None) -> None:
        body = self.query_one("#evidence-body", Static)
        if kind is None:
            body.update(Text(_("Nothing to decide in this queue."), style="dim"))
            return
        text = Text()
        if note is not None:
            text.append_text(note)
            text.append("\n")
        text.append_text(evidence_text(kind, data))
        body.update(text)
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        return str(self.query_one("#evidence-body", Static).render())
