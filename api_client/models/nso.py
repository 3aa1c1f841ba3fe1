"""NSO staff: validation queues, the evidence behind each item, decisions, audit, stats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, model_validator

from api_client.models.common import Reason, StrictInput, Wire

QueueName = Literal["applications", "organisations", "projects"]
ItemKind = Literal["application", "organisation", "project"]
Action = Literal["approve", "reject", "request_info"]

# how long the staff member who decided can take a decision back
UNDO_SECONDS = 30
# validation is expected within about this many days; older items are flagged
VALIDATION_DAYS = 7


# --- queues ------------------------------------------------------------------------------


class QueueSummary(Wire):
    queue: QueueName
    count: int  # items waiting for this NSO
    oldest_age_days: int | None = None  # None when the queue is empty
    overdue: int = 0  # items older than VALIDATION_DAYS
    info_requested: int = 0  # items waiting for an answer to a question of the NSO


class QueuesOut(Wire):
    country: str
    validation_days: int = VALIDATION_DAYS
    queues: list[QueueSummary]


class QueueItem(Wire):
    """One compact row of a queue: enough to decide plain cases without opening the detail."""

    kind: ItemKind
    id: str  # application id, organisation id, project id
    title: str
    detail: str = ""
    state: str  # pending | info_requested
    submitted_at: datetime
    age_days: int
    overdue: bool
    version: int  # send it back with the decision
    region: str = ""
    type: str = ""
    # hints for the list: duplicate_suspected, company_staff_only, no_school, school_pending,
    # school_number_missing, other_nso_approved, other_nso_pending, ...
    flags: list[str] = Field(default_factory=list)


# --- evidence ----------------------------------------------------------------------------


class OrgBrief(Wire):
    id: str
    public_name: str
    city: str
    country: str
    type: str
    state: str  # pending | validated | rejected
    standing: str  # etwinning | pending | non_etwinning
    school_number: str | None = None


class RoleAtOrganisation(Wire):
    membership_id: str
    role: str
    role_label: str
    blocks_etwinning: bool
    organisation: OrgBrief


class PersonBrief(Wire):
    user_id: str
    name: str
    email: str
    country: str
    state: str
    active: bool = True


class LegacyLink(Wire):
    platform: str  # etwinning | seg
    email: str
    first_name: str
    last_name: str
    migrated_at: datetime | None = None


class DuplicateCandidate(Wire):
    user_id: str
    name: str
    email: str
    country: str
    state: str
    created_at: datetime


class PastDecision(Wire):
    audit_id: int
    at: datetime
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    reason: str | None = None


class ApplicationEvidence(Wire):
    id: str
    state: str
    version: int
    submitted_at: datetime
    days_waiting: int
    overdue: bool
    reason: str | None = None  # the question asked, while info_requested
    applicant: PersonBrief
    capacity: str
    roles: list[RoleAtOrganisation]
    legacy: LegacyLink | None = None
    suspected_duplicates: list[DuplicateCandidate]
    earlier_decisions: list[PastDecision]
    # what would refuse an approval now (empty: approvable)
    blockers: list[Reason] = Field(default_factory=list)


class NearDuplicate(Wire):
    id: str
    public_name: str
    legal_name: str
    city: str
    state: str
    school_number: str | None = None
    similarity: float  # 0..1 of the folded names; 1.0 also for the same school number
    same_school_number: bool = False


class OrganisationEvidence(Wire):
    id: str
    state: str
    version: int
    legal_name: str
    public_name: str
    country: str
    region: str
    city: str
    type: str
    school_number: str | None = None
    school_number_required: bool
    principal_name: str | None = None
    principal_email: str | None = None
    website: str | None = None
    created_at: datetime
    days_waiting: int
    overdue: bool
    registered_by: PersonBrief | None = None
    members: int  # current memberships
    near_duplicates: list[NearDuplicate]
    earlier_decisions: list[PastDecision]


class Founder(Wire):
    role: Literal["creator", "partner"]
    person: PersonBrief
    school: OrgBrief | None = None
    validated: bool  # eTwinning-validated teacher at a validated school


class ApprovalOut(Wire):
    country: str
    state: str  # waiting | pending | info_requested | approved | rejected | closed
    decided_at: datetime | None = None
    decided_by_name: str | None = None
    reason: str | None = None


class ProjectEvidence(Wire):
    id: str
    title: str
    short_description: str
    scope: str  # national | european
    project_state: str
    state: str  # this NSO's approval state
    version: int  # this NSO's approval version: send it back with the decision
    created_at: datetime
    queued_at: datetime | None = None
    days_waiting: int
    overdue: bool
    languages: list[str]
    subjects: list[str]
    age_min: int
    age_max: int
    pupils_count: int
    aims: str
    countries: list[str]
    founders: list[Founder]
    approvals: list[ApprovalOut]
    other_nso_decided: bool  # a European project needs both NSOs
    earlier_decisions: list[PastDecision]


# --- decisions ---------------------------------------------------------------------------


class ReasonTemplate(Wire):
    code: str
    kinds: list[ItemKind]
    actions: list[Action]
    text: str


class DecisionIn(StrictInput):
    action: Action
    # required for reject and request_info, unless a template gives it
    reason: str | None = Field(None, max_length=2000)
    template: str | None = Field(None, max_length=60)
    version: int = Field(ge=0, le=2**31)  # the version the staff member saw


class DecisionOut(Wire):
    audit_id: int
    kind: ItemKind
    id: str
    action: str
    state: str  # the item's state after the decision
    version: int
    project_state: str | None = None  # for projects: the project's own state
    undo_until: datetime


class BulkItem(StrictInput):
    kind: ItemKind
    id: str = Field(min_length=1, max_length=36)
    version: int = Field(ge=0, le=2**31)


class BulkIn(StrictInput):
    items: list[BulkItem] = Field(min_length=1, max_length=200)
    action: Action
    reason: str | None = Field(None, max_length=2000)
    template: str | None = Field(None, max_length=60)

    @model_validator(mode="after")
    def _unique(self):
        keys = [(i.kind, i.id) for i in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError("each item may appear only once")
        return self


class BulkResult(Wire):
    kind: ItemKind
    id: str
    ok: bool
    decision: DecisionOut | None = None
    code: str | None = None
    message: str | None = None
    reasons: list[Reason] = Field(default_factory=list)


class BulkOut(Wire):
    results: list[BulkResult]
    ok: int
    failed: int


class UndoOut(Wire):
    audit_id: int  # the "undo" entry
    undone: int  # the entry taken back
    kind: str
    id: str
    state: str
    version: int


# --- audit and stats ---------------------------------------------------------------------


class AuditOut(Wire):
    id: int
    at: datetime
    actor_id: str
    actor_name: str
    action: str  # approve | reject | request_info | undo | deactivate | activate
    subject_type: str  # application | organisation | project | user
    subject_id: str
    subject_title: str = ""
    reason: str | None = None
    undoable: bool = False


class DayStats(Wire):
    day: date
    approve: int = 0
    reject: int = 0
    request_info: int = 0
    undo: int = 0
    total: int = 0  # approve + reject + request_info


class QueueStat(Wire):
    queue: QueueName
    count: int
    median_age_days: float | None = None
    oldest_age_days: int | None = None


class StatsOut(Wire):
    country: str
    days: list[DayStats]  # the last 30 days, oldest first, every day present
    queues: list[QueueStat]


# --- accounts ----------------------------------------------------------------------------


class ActiveIn(StrictInput):
    active: bool
    reason: str | None = Field(None, max_length=2000)


class ActiveOut(Wire):
    user_id: str
    active: bool
    version: int
    sessions_ended: int = 0
