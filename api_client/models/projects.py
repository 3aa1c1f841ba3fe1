"""eTwinning projects: creation with a partner, NSO approvals, members."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from api_client.models.common import StrictInput, Wire
from api_client.models.networking import UUID_PATTERN, PersonBrief, SchoolRef, clean_labels

MAX_IMAGE_BYTES = 200 * 1024
# base64 of MAX_IMAGE_BYTES, plus room for a data: prefix and line breaks
MAX_IMAGE_BASE64 = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4096

ProjectRole = Literal["teacher_admin", "teacher", "observer"]


class _ProjectFields(StrictInput):
    """The description of a project, as in the creation form (all limits enforced here)."""

    title: str = Field(min_length=1, max_length=200)
    short_description: str = Field(min_length=1, max_length=2000)
    languages: list[str] = Field(min_length=1, max_length=10)
    pupils_count: int = Field(ge=1, le=1000)
    age_min: int = Field(ge=1, le=99)
    age_max: int = Field(ge=1, le=99)
    subjects: list[str] = Field(min_length=1, max_length=10)
    vocational_subjects: list[str] = Field(default_factory=list, max_length=10)
    aims: str = Field(min_length=1, max_length=5000)
    work_process: str = Field(min_length=1, max_length=5000)
    expected_results: str = Field(min_length=1, max_length=5000)
    # optional representative image: PNG, JPEG or WebP, at most 200 KB once decoded
    image_base64: str | None = Field(default=None, max_length=MAX_IMAGE_BASE64)

    _languages = field_validator("languages")(lambda v: clean_labels(v, 40))
    _subjects = field_validator("subjects", "vocational_subjects")(lambda v: clean_labels(v, 100))


class ProjectCreate(_ProjectFields):
    id: str | None = Field(default=None, pattern=UUID_PATTERN, max_length=36)
    # required when the creator works in more than one eTwinning school
    creator_school_id: str | None = Field(default=None, max_length=36)
    # exactly one partner, from the creator's accepted contacts
    partner_id: str = Field(min_length=1, max_length=36)


class ProjectUpdate(StrictInput):
    """Changes while the project is pending (awaiting partner or NSO). Absent = unchanged."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    short_description: str | None = Field(default=None, min_length=1, max_length=2000)
    languages: list[str] | None = Field(default=None, min_length=1, max_length=10)
    pupils_count: int | None = Field(default=None, ge=1, le=1000)
    age_min: int | None = Field(default=None, ge=1, le=99)
    age_max: int | None = Field(default=None, ge=1, le=99)
    subjects: list[str] | None = Field(default=None, min_length=1, max_length=10)
    vocational_subjects: list[str] | None = Field(default=None, max_length=10)
    aims: str | None = Field(default=None, min_length=1, max_length=5000)
    work_process: str | None = Field(default=None, min_length=1, max_length=5000)
    expected_results: str | None = Field(default=None, min_length=1, max_length=5000)
    creator_school_id: str | None = Field(default=None, max_length=36)
    image_base64: str | None = Field(default=None, max_length=MAX_IMAGE_BASE64)
    remove_image: bool = False

    _languages = field_validator("languages")(lambda v: None if v is None else clean_labels(v, 40))
    _subjects = field_validator("subjects", "vocational_subjects")(
        lambda v: None if v is None else clean_labels(v, 100)
    )


class PartnerAccept(StrictInput):
    # required when the partner works in more than one eTwinning school
    partner_school_id: str | None = Field(default=None, max_length=36)


class PartnerDecline(StrictInput):
    reason: str = Field(default="", max_length=1000)


class MemberInvite(StrictInput):
    user_id: str = Field(min_length=1, max_length=36)
    role: ProjectRole = "teacher"


class MemberUpdate(StrictInput):
    role: ProjectRole


class MemberOut(Wire):
    user_id: str
    name: str
    country: str
    role: str  # teacher_admin | teacher | observer
    founder: bool
    state: str  # invited | active
    joined_at: datetime


class ApprovalOut(Wire):
    """One NSO's decision: waiting (partner not yet accepted) | pending | info_requested |
    approved | rejected."""

    country: str
    state: str
    queued_at: datetime | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class ProjectOut(Wire):
    id: str
    title: str
    short_description: str
    languages: list[str]
    pupils_count: int
    age_min: int
    age_max: int
    subjects: list[str]
    vocational_subjects: list[str]
    aims: str
    work_process: str
    expected_results: str
    has_image: bool = False
    image_type: str | None = None
    # awaiting_partner | awaiting_nso | approved | rejected | declined | closed
    state: str
    scope: str  # national | european
    creator: PersonBrief
    creator_school: SchoolRef
    partner: PersonBrief
    partner_school: SchoolRef | None = None
    rejection_reason: str | None = None
    created_at: datetime
    partner_decided_at: datetime | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None
    version: int
    members: list[MemberOut] = Field(default_factory=list)
    approvals: list[ApprovalOut] = Field(default_factory=list)
    my_role: str | None = None
    my_state: str | None = None


class ProjectSummary(Wire):
    id: str
    title: str
    state: str
    scope: str
    creator: PersonBrief
    partner: PersonBrief
    created_at: datetime
    version: int
    my_role: str | None = None
    my_state: str | None = None
    founder: bool = False


class ProjectPreview(Wire):
    """What would be submitted, checked against every rule, without creating anything."""

    id: str | None = None
    title: str
    short_description: str
    languages: list[str]
    pupils_count: int
    age_min: int
    age_max: int
    subjects: list[str]
    vocational_subjects: list[str]
    aims: str
    work_process: str
    expected_results: str
    has_image: bool = False
    image_type: str | None = None
    image_bytes: int = 0
    scope: str
    creator: PersonBrief
    creator_school: SchoolRef
    partner: PersonBrief
    # the NSOs whose approval the project needs
    approval_countries: list[str]
    state: str = "awaiting_partner"
