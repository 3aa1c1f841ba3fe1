"""The guided tour: one step at a time, in plain words, following the FAQ.

A step is done when the app's state says so (signed in, registered, validated, a screen
visited), so the tour advances as the user completes each step, whatever way they took.
Texts are catalog strings (``N_`` here, translated when shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from esep_tui.i18n import N_, _


@dataclass
class TourContext:
    """What the tour knows about where the user is."""

    screen: str = ""  # class name of the screen on top
    signed_in: bool = False
    pupil: bool = False
    registered: bool = False  # platform user exists (FAQ step 5 done)
    state: str | None = None  # esep_registered / etwinning_pending / etwinning_validated / ...
    staff: bool = False
    visited: set[str] = field(default_factory=set)  # screen class names seen this session

    @property
    def applied(self) -> bool:
        return self.state in ("etwinning_pending", "etwinning_validated", "etwinning_rejected")


@dataclass(frozen=True)
class TourStep:
    key: str
    title: str  # N_-marked
    text: str  # N_-marked
    done: Callable[[TourContext], bool]


def _visited(*names: str) -> Callable[[TourContext], bool]:
    return lambda ctx: bool(ctx.visited & set(names))


WELCOME = TourStep(
    "welcome",
    N_("Three ways in"),
    N_(
        "Everything on the platform starts with an EU Login account. Sign in if you have "
        "one, create one (ctrl+n on the sign-in screen), or try the demo world (F3) as one "
        "of its people."
    ),
    lambda ctx: ctx.signed_in,
)

TEACHER: tuple[TourStep, ...] = (
    WELCOME,
    TourStep(
        "platform_form",
        N_("Complete the platform form"),
        N_(
            "FAQ steps 1 to 5. Your EU Login account exists; now the platform asks for the "
            "fields of your capacity. If you had an old eTwinning or School Education Gateway "
            "account with the same email, it is linked and its data migrated. Open "
            "Registration (w) on the home screen."
        ),
        lambda ctx: ctx.registered,
    ),
    TourStep(
        "join",
        N_("Join eTwinning with your school"),
        N_(
            "FAQ steps 6 and 7. Press Join eTwinning, choose your role at school by what you "
            "do (teacher, head teacher, librarian…; Company Staff blocks eTwinning) and add "
            "your school: search by country and a few words of its name. Not found? Register "
            "it, then search again and add it: a new school is not added by itself."
        ),
        lambda ctx: ctx.applied,
    ),
    TourStep(
        "validation",
        N_("Profile, Finish, and validation"),
        N_(
            "FAQ steps 8 and 9. The profile is optional and can be filled in later. After "
            "Finish, your National Support Organisation validates the registration, normally "
            "within 7 days. Meanwhile the Account doctor (d) explains anything that blocks you."
        ),
        lambda ctx: ctx.state == "etwinning_validated",
    ),
    TourStep(
        "partners",
        N_("Find partners"),
        N_(
            "Find partners (f): read partner-finding posts or post your own idea; under People "
            "search colleagues by name, country, subject or pupils' age and add them to your "
            "contacts. A project partner must be one of your contacts."
        ),
        _visited("PartnersScreen"),
    ),
    TourStep(
        "project",
        N_("Create a project"),
        N_(
            "Create a project (c): choose the school you take part with (careful if you work "
            "in more than one), choose the partner from your contacts, describe the project, "
            "preview it and submit. The partner accepts the invitation, then the NSO approves."
        ),
        _visited("ProjectCreateScreen", "ProjectsScreen"),
    ),
    TourStep(
        "twinspace",
        N_("Work in the TwinSpace"),
        N_(
            "Once approved, the project gets a TwinSpace (t). Start with a getting-to-know "
            "activity, then plan about one joint activity a month with the partner class, one "
            "page per activity. Pupils join with a username and code you make for them."
        ),
        _visited("TwinSpaceListScreen", "TwinSpaceScreen"),
    ),
    TourStep(
        "problems",
        N_("When something looks wrong"),
        N_(
            "Shown as 'esep registered' or 'Non-validated' although you were validated? Open "
            "Profile and organisations (p): leave the organisation and add it again, or use "
            "the card's actions to request eTwinning validation. The Account doctor lists "
            "every reason with its fix. Changes made offline wait in the Outbox (o)."
        ),
        _visited("DoctorScreen", "ProfileScreen", "OutboxScreen"),
    ),
)

STAFF: tuple[TourStep, ...] = (
    WELCOME,
    TourStep(
        "queues",
        N_("Validation queues"),
        N_(
            "You are National Support Organisation staff: open the Validation queues (q). "
            "Teachers, new organisations and projects of your country wait there, oldest "
            "first; validation should take no more than 7 days."
        ),
        _visited("NsoQueueScreen"),
    ),
    TourStep(
        "decide",
        N_("Decide with the evidence"),
        N_(
            "Each item shows its evidence: the school's data, suspected duplicates, the "
            "founders' schools. Approve, reject with a reason, or ask for information. A "
            "European project needs the approval of both founders' NSOs."
        ),
        _visited("AuditScreen", "NsoStatsScreen"),
    ),
    TourStep(
        "audit",
        N_("Every decision is recorded"),
        N_(
            "The Audit log (a) shows who decided what, when and why; Queue statistics (s) "
            "show the decisions per day and how long items wait."
        ),
        lambda ctx: False,
    ),
)

PUPIL: tuple[TourStep, ...] = (
    WELCOME,
    TourStep(
        "pupil",
        N_("Your TwinSpace"),
        N_(
            "Pupils have no platform account: your teacher made a username and activation "
            "code for one TwinSpace. Open My TwinSpaces (t) to read its pages; a pupil admin "
            "can also edit them."
        ),
        lambda ctx: False,
    ),
)


@dataclass(frozen=True)
class TourView:
    """What the panel shows, already in the interface language."""

    number: int
    total: int
    title: str
    text: str
    steps: tuple[tuple[str, bool, bool], ...]  # (title, done, current)
    finished: bool = False


def track(ctx: TourContext) -> tuple[TourStep, ...]:
    if ctx.pupil:
        return PUPIL
    if ctx.staff:
        return STAFF
    return TEACHER


def current(ctx: TourContext) -> tuple[int, TourStep]:
    """The first step not done yet (the last one when all are)."""
    steps = track(ctx)
    for index, step in enumerate(steps):
        if not step.done(ctx):
            return index, step
    return len(steps) - 1, steps[-1]


def view(ctx: TourContext) -> TourView:
    steps = track(ctx)
    index, step = current(ctx)
    finished = all(s.done(ctx) for s in steps)
    return TourView(
        number=index + 1,
        total=len(steps),
        title=_(step.title),
        text=_(step.text),
        steps=tuple((_(s.title), s.done(ctx), s is step) for s in steps),
        finished=finished,
    )


ALL_STEPS = {s.key: s for s in (*TEACHER, *STAFF, *PUPIL)}
