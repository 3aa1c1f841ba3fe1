"""Platform users: the registration form, the profile, memberships, the eTwinning application."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from api_client.models.common import Wire
from api_client.models.organisations import CleanInput, OrganisationSummary

RegistrationStep = Literal[
    "platform_form", "join_etwinning", "organisation", "profile", "finish", "done"
]

MIN_PUPIL_AGE = 2
MAX_PUPIL_AGE = 25


class Choice(Wire):
    value: str
    label: str


class FormField(Wire):
    name: str
    label: str
    required: bool
    kind: Literal["text", "choice"] = "text"
    max_length: int | None = None
    choices: list[Choice] | None = None


class PlatformForm(Wire):
    """The platform registration form: which fields a capacity requires."""

    capacity: str
    fields: list[FormField]


class RegistrationIn(CleanInput):
    capacity: str = Field(min_length=1, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    institution: str | None = Field(default=None, max_length=200)
    capacity_other: str | None = Field(default=None, max_length=100)

    @field_validator("country")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else None

    @field_validator("first_name", "last_name", "institution", "capacity_other")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


class MembershipOut(Wire):
    id: str
    org_id: str
    role: str
    role_label: str
    created_at: datetime
    left_at: datetime | None = None
    # the card's tab: etwinning | pending | non_etwinning
    standing: str
    org: OrganisationSummary
    # the card's "three dots" menu: leave, change_role, request_validation
    actions: list[str] = Field(default_factory=list)


class ApplicationOut(Wire):
    id: str
    user_id: str
    country: str
    # pending | info_requested | approved | rejected | withdrawn
    state: str
    submitted_at: datetime
    decided_at: datetime | None = None
    reason: str | None = None
    waiting_days: int = 0


class LegacyInfo(Wire):
    id: str
    platform: str  # etwinning | seg
    migrated_at: datetime | None = None


class UserOut(Wire):
    id: str
    account_id: str
    first_name: str
    last_name: str
    country: str
    capacity: str
    institution: str | None = None
    capacity_other: str | None = None
    # esep_registered | etwinning_pending | etwinning_validated | etwinning_rejected
    state: str
    rejection_reason: str | None = None
    active: bool
    staff_country: str | None = None
    available_for_projects: bool
    subjects: list[str]
    languages: list[str]
    pupil_age_min: int | None = None
    pupil_age_max: int | None = None
    description: str
    visibility: str  # platform | contacts
    profile_done: bool
    version: int
    legacy: LegacyInfo | None = None
    memberships: list[MembershipOut] = Field(default_factory=list)
    application: ApplicationOut | None = None
    # where an interrupted registration wizard resumes
    registration_step: RegistrationStep


class RegistrationOut(Wire):
    user: UserOut
    legacy_linked: bool = False
    # the old platform whose account was linked: etwinning | seg
    legacy_platform: str | None = None


class ProfilePatch(CleanInput):
    available_for_projects: bool | None = None
    subjects: list[str] | None = Field(default=None, max_length=30)
    languages: list[str] | None = Field(default=None, max_length=30)
    pupil_age_min: int | None = Field(default=None, ge=MIN_PUPIL_AGE, le=MAX_PUPIL_AGE)
    pupil_age_max: int | None = Field(default=None, ge=MIN_PUPIL_AGE, le=MAX_PUPIL_AGE)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Literal["platform", "contacts"] | None = None
    profile_done: bool | None = None

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out: dict[str, None] = {}
        for item in v:
            item = item.strip()
            if not item or len(item) > 100:
                raise ValueError("each subject must be 1 to 100 characters")
            out.setdefault(item, None)
        return list(out)

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out: dict[str, None] = {}
        for item in v:
            code = item.strip().lower()
            if not (2 <= len(code) <= 3 and code.isascii() and code.isalpha()):
                raise ValueError("languages are ISO 639 codes such as 'el', 'pl', 'en'")
            out.setdefault(code, None)
        return list(out)


class MembershipCreate(CleanInput):
    id: str | None = Field(default=None, max_length=36)
    org_id: str = Field(min_length=1, max_length=36)
    role: str = Field(min_length=1, max_length=40)

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("must be a UUID") from None


class MembershipPatch(CleanInput):
    role: str = Field(min_length=1, max_length=40)
