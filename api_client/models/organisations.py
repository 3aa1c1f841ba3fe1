"""Organisations: search results, details, near-duplicates and the registration form."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from api_client.models.common import Reason, StrictInput, Wire

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class CleanInput(StrictInput):
    """A request body whose text never carries NUL characters (no database stores them)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class OrganisationSummary(Wire):
    """What an organisation card shows."""

    id: str
    public_name: str
    country: str
    city: str
    type: str
    state: str  # pending | validated | rejected
    # which tab the card belongs to: etwinning | pending | non_etwinning
    standing: str


class OrganisationOut(OrganisationSummary):
    legal_name: str
    region: str = ""
    school_number: str | None = None
    website: str | None = None
    # the principal's contact is shown to whoever registered the organisation and to staff
    principal_name: str | None = None
    principal_email: str | None = None
    rejection_reason: str | None = None
    created_at: datetime
    decided_at: datetime | None = None
    # days since registration while it waits for validation
    waiting_days: int | None = None
    registered_by_me: bool = False
    version: int


class OrganisationCreate(CleanInput):
    # optional client-generated id (UUID), so an offline client can refer to it at once
    id: str | None = Field(default=None, max_length=36)
    legal_name: str = Field(min_length=2, max_length=300)
    # the name people know it by; defaults to the legal name
    public_name: str | None = Field(default=None, max_length=300)
    country: str = Field(min_length=2, max_length=2)
    region: str = Field(default="", max_length=120)
    city: str = Field(min_length=1, max_length=120)
    type: str = Field(max_length=30)
    school_number: str | None = Field(default=None, max_length=60)
    principal_name: str | None = Field(default=None, max_length=200)
    principal_email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    website: str | None = Field(default=None, max_length=300)
    # set after the user has seen the near-duplicate warning and is sure it is a new one
    confirm_not_duplicate: bool = False

    @field_validator("id")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError("must be a UUID") from None

    @field_validator("country")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("principal_email")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v else v

    @field_validator("website")
    @classmethod
    def _website(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not v.lower().startswith(("http://", "https://")):
            v = "https://" + v
        if any(ch.isspace() for ch in v) or "." not in v.split("//", 1)[1]:
            raise ValueError("must be a web address such as https://school.example.org")
        return v

    @field_validator("school_number", "principal_name")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None


class OrganisationCreated(Wire):
    organisation: OrganisationOut
    # a new organisation is not linked to its registrant: the client offers to add it
    linked: bool = False
    hint: Reason


class SimilarOrganisation(OrganisationSummary):
    legal_name: str
    school_number: str | None = None
    similarity: float  # 0..1, folded word overlap of the names
    same_school_number: bool = False
