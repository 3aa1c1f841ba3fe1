"""Networking: people search, contacts, partner-finding posts, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from api_client.models.common import StrictInput, Wire

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def clean_labels(values: list[str], limit: int) -> list[str]:
    """Strip, refuse empty or over-long entries, drop duplicates (order kept)."""
    out: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if not v or len(v) > limit:
            raise ValueError(f"each entry must be 1 to {limit} characters")
        out.setdefault(v, None)
    return list(out)


class SchoolRef(Wire):
    """An organisation as others may see it: its public name and where it is."""

    id: str
    public_name: str
    country: str
    city: str = ""


class PersonBrief(Wire):
    id: str
    name: str
    country: str


class PersonOut(Wire):
    """A public profile. Never carries an email address."""

    id: str
    first_name: str
    last_name: str
    name: str
    country: str
    subjects: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    pupil_age_min: int | None = None
    pupil_age_max: int | None = None
    description: str = ""
    available_for_projects: bool = False
    schools: list[SchoolRef] = Field(default_factory=list)
    # the caller's contact with this person: accepted | pending_in | pending_out | None
    contact_state: str | None = None
    contact_id: str | None = None


# --- contacts ----------------------------------------------------------------------------------


class ContactCreate(StrictInput):
    id: str | None = Field(default=None, pattern=UUID_PATTERN, max_length=36)
    user_id: str = Field(min_length=1, max_length=36)
    note: str = Field(default="", max_length=1000)


class ContactOut(Wire):
    id: str
    state: str  # pending | accepted | declined
    direction: Literal["incoming", "outgoing"]
    person: PersonOut
    note: str = ""
    created_at: datetime
    decided_at: datetime | None = None


# --- partner-finding posts ---------------------------------------------------------------------


class PostCreate(StrictInput):
    id: str | None = Field(default=None, pattern=UUID_PATTERN, max_length=36)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    subjects: list[str] = Field(min_length=1, max_length=10)
    languages: list[str] = Field(min_length=1, max_length=10)
    pupil_age_min: int = Field(ge=1, le=99)
    pupil_age_max: int = Field(ge=1, le=99)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    # at most a year ahead; 90 days when left out
    expires_at: datetime | None = None

    _subjects = field_validator("subjects")(lambda v: clean_labels(v, 100))
    _languages = field_validator("languages")(lambda v: clean_labels(v, 40))


class InterestCreate(StrictInput):
    note: str = Field(default="", max_length=1000)


class ReportCreate(StrictInput):
    reason: str = Field(min_length=1, max_length=1000)


class InterestOut(Wire):
    id: str
    post_id: str
    person: PersonBrief
    note: str = ""
    created_at: datetime


class PostOut(Wire):
    id: str
    title: str
    description: str
    subjects: list[str]
    languages: list[str]
    pupil_age_min: int
    pupil_age_max: int
    country: str
    expires_at: datetime
    created_at: datetime
    author: PersonBrief
    mine: bool = False
    hidden: bool = False
    expired: bool = False
    interest_count: int = 0
    interested: bool = False  # the caller expressed interest
    reported: bool = False  # the caller reported it
    # who is interested: shown to the author only
    interests: list[InterestOut] | None = None


# --- notifications -----------------------------------------------------------------------------


class NotificationOut(Wire):
    id: str
    kind: str
    text: str
    subject_type: str | None = None
    subject_id: str | None = None
    created_at: datetime
    read_at: datetime | None = None


class NotificationPage(Wire):
    items: list[NotificationOut]
    total: int | None = None
    next_offset: int | None = None
    unread: int = 0
