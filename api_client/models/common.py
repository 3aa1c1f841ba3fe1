"""Shapes every endpoint shares: errors, eligibility reasons, pages of results, the change feed."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Wire(BaseModel):
    """Base of every wire model: unknown fields from a newer server are ignored, not fatal."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)


class StrictInput(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos are not silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Reason(Wire):
    """Why something is not allowed, and what fixes it. Domain rules travel as these."""

    code: str
    message: str
    fix: str
    # who can apply the fix: "self" (the user, often with one action) or "nso" (staff only)
    fixed_by: str = "self"
    # the action the client can run for a self-fix, e.g. "apply_etwinning:<org_id>"
    action: str | None = None


class ApiError(Wire):
    """Every 4xx body: a stable code, a sentence a person can read, and the field at fault."""

    code: str
    message: str
    field: str | None = None
    reasons: list[Reason] = Field(default_factory=list)


class Eligibility(Wire):
    allowed: bool
    reasons: list[Reason] = Field(default_factory=list)


class Page(Wire, Generic[T]):
    items: list[T]
    total: int | None = None
    next_offset: int | None = None


class ChangeItem(Wire):
    entity: str
    id: str
    op: str  # upsert | delete
    seq: int
    # the entity's current representation (absent for deletes and for entities the
    # reader may no longer see)
    data: dict | None = None


class ChangeFeed(Wire):
    changes: list[ChangeItem]
    cursor: int
    more: bool = False
