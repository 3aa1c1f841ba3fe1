"""One teacher's public profile as a block of text; optionally with why they cannot be chosen."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from esep_tui.i18n import N_, _
from widgets.untrusted import clean

CONTACT_STATES = {
    "accepted": N_("contact"),
    "pending_in": N_("asks to be your contact"),
    "pending_out": N_("request sent"),
}


def ages(low: Any, high: Any) -> str:
    if low is None and high is None:
        return ""
    return f"{low if low is not None else '?'}–{high if high is not None else '?'}"


def person_lines(person: dict[str, Any]) -> list[str]:
    """The profile's facts, one line each, as plain text (server data, never markup)."""
    lines = []
    schools = person.get("schools") or []
    if schools:
        lines.append(
            "; ".join(
                clean(f"{s.get('public_name', '')}, {s.get('city', '')} ({s.get('country', '')})")
                for s in schools
            )
        )
    facts = []
    if person.get("subjects"):
        facts.append(_("subjects") + ": " + clean(", ".join(person["subjects"])))
    if person.get("languages"):
        facts.append(_("languages") + ": " + clean(", ".join(person["languages"])))
    age = ages(person.get("pupil_age_min"), person.get("pupil_age_max"))
    if age:
        facts.append(_("pupils aged") + " " + age)
    if facts:
        lines.append(" · ".join(facts))
    if person.get("description"):
        lines.append(clean(person["description"]))
    return lines


def reason_lines(reasons: list[dict[str, Any]]) -> list[str]:
    """Each failing condition: what is wrong, then its fix."""
    out = []
    for r in reasons:
        out.append("✗ " + clean(r.get("message", "")))
        if r.get("fix"):
            out.append("  → " + clean(r["fix"]))
    return out


class PersonCard(Static):
    """Name, country, contact state, schools, subjects, languages, pupils' ages, reasons."""

    DEFAULT_CSS = """
    PersonCard {
        height: auto;
        padding: 0 1;
        margin: 0 0 1 0;
        border-left: tall $primary 40%;
    }
    PersonCard.-disabled {
        color: $text-muted;
        border-left: tall $error 60%;
    }
    """

    def __init__(
        self,
        person: dict[str, Any],
        *,
        note: str = "",
        reasons: list[dict[str, Any]] | None = None,
        id: str | None = None,
    ):
        super().__init__(id=id, markup=False)
        self.person = person
        self.note = note
        self.reasons = reasons or []
        self.set_class(bool(self.reasons), "-disabled")

    def on_mount(self) -> None:
        self.update(self.content())

    def content(self) -> Content:
        p = self.person
        head = [(clean(p.get("name", "")), "bold"), f"  {clean(p.get('country', ''))}"]
        state = CONTACT_STATES.get(p.get("contact_state") or "")
        if state:
            head.append((f"  [{_(state)}]", "italic"))
        if p.get("available_for_projects") is False:
            head.append(("  " + _("not available for projects"), "italic"))
        body = person_lines(p)
        if self.note:
            body.append("“" + clean(self.note) + "”")
        body += reason_lines(self.reasons)
        return Content.assemble(*head, *("\n" + line for line in body))
