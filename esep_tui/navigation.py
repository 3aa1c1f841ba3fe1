"""Where a signed-in person can go: the home screen's menu and the palette's "Open …" commands.

Each destination names the screen class by module path, so screens stay independent modules
and are imported only when opened. ``audiences`` says who sees the entry:
``unregistered`` (EU Login account without the platform form), ``teacher``, ``validated``
(teachers with eTwinning access), ``staff`` (NSO), ``pupil``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from esep_tui.i18n import N_


@dataclass(frozen=True)
class Destination:
    key: str  # one key on the home screen
    title: str  # N_-marked; translated when shown
    help: str
    target: str  # "module:ClassName"; the class is built with no arguments
    audiences: frozenset[str]

    def load(self):
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def available(self) -> bool:
        try:
            self.load()
        except Exception:  # a screen that cannot load is left out of the menu, not fatal
            return False
        return True


def _d(key: str, title: str, help: str, target: str, *audiences: str) -> Destination:
    return Destination(key, title, help, target, frozenset(audiences))


TEACHERS = ("teacher", "validated")

DESTINATIONS: list[Destination] = [
    _d("w", N_("Registration"), N_("Finish the registration wizard"),
       "screens.registration:RegistrationScreen", "unregistered", "teacher"),
    _d("p", N_("Profile and organisations"), N_("Your profile, schools and their status"),
       "screens.profile:ProfileScreen", *TEACHERS),
    _d("d", N_("Account doctor"), N_("Why can't I …? Every reason, with its fix"),
       "screens.doctor:DoctorScreen", *TEACHERS),
    _d("f", N_("Find partners"), N_("People, contacts and partner-finding posts"),
       "screens.partners:PartnersScreen", *TEACHERS),
    _d("c", N_("Create a project"), N_("School, partner, description, preview, submit"),
       "screens.project_create:ProjectCreateScreen", "validated"),
    _d("j", N_("My projects"), N_("Projects, invitations and their approval"),
       "screens.projects:ProjectsScreen", *TEACHERS),
    _d("t", N_("My TwinSpaces"), N_("Pages, members, pupils and materials"),
       "screens.twinspace:TwinSpaceListScreen", *TEACHERS, "pupil"),
    _d("n", N_("Notifications"), N_("Invitations, requests and decisions"),
       "screens.notifications:NotificationsScreen", *TEACHERS),
    _d("q", N_("Validation queues"), N_("Teachers, organisations and projects to decide"),
       "screens.nso_queue:NsoQueueScreen", "staff"),
    _d("a", N_("Audit log"), N_("Every decision: who, when, what, why"),
       "screens.audit:AuditScreen", "staff"),
    _d("s", N_("Queue statistics"), N_("Decisions per day and queue age"),
       "screens.nso_stats:NsoStatsScreen", "staff"),
    _d("o", N_("Outbox"), N_("Changes waiting to be sent, and those needing attention"),
       "screens.outbox:OutboxScreen", *TEACHERS, "staff", "pupil", "unregistered"),
]  # fmt: skip


def for_audience(audience: set[str]) -> list[Destination]:
    return [d for d in DESTINATIONS if d.audiences & audience and d.available()]
