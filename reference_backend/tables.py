"""The persistent schema. One declarative model per platform entity.

Ids are UUID strings so that offline clients can create objects with ids of their own.
Lists (subjects, languages) are JSON columns: they are read whole and never queried inside,
except where a side table exists for search (organisation tokens).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reference_backend import clock


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


ID = String(36)


# --- EU Login (simulated SSO) and sessions ---------------------------------------------------


class Account(Base):
    """An EU Login account. Platform sign-in happens only through one of these."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegacyAccount(Base):
    """An account of the old eTwinning / School Education Gateway platforms, waiting to be linked."""

    __tablename__ = "legacy_accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    platform: Mapped[str] = mapped_column(String(20))  # etwinning | seg
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    subjects: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    migrated_to: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    migrated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Session(Base):
    """One sign-in. Access tokens are short-lived; refresh tokens rotate within a family."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(ID, index=True)
    subject_kind: Mapped[str] = mapped_column(String(10))  # account | pupil
    subject_id: Mapped[str] = mapped_column(ID, index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires: Mapped[datetime] = mapped_column()
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_expires: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(Base):
    """Failed sign-ins, kept in the database so rate limits hold across workers."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), index=True)  # "account:<email>" | "ip:<addr>"
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --- Platform users, organisations, memberships ----------------------------------------------


class User(Base):
    """A platform user (teacher, NSO staff member). Created by the platform registration form."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    name_folded: Mapped[str] = mapped_column(String(250), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    capacity: Mapped[str] = mapped_column(String(40))  # teacher, head_teacher, researcher, ...
    # asked by the platform form for some capacities (see rules.CAPACITIES)
    institution: Mapped[str | None] = mapped_column(String(200), nullable=True)
    capacity_other: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # esep_registered | etwinning_pending | etwinning_validated | etwinning_rejected
    state: Mapped[str] = mapped_column(String(30), default="esep_registered", index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    staff_country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # NSO staff
    available_for_projects: Mapped[bool] = mapped_column(Boolean, default=False)
    subjects: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    pupil_age_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pupil_age_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(20), default="platform")  # platform | contacts
    profile_done: Mapped[bool] = mapped_column(Boolean, default=False)
    legacy_account_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    legal_name: Mapped[str] = mapped_column(String(300))
    public_name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(120))
    city_folded: Mapped[str] = mapped_column(String(120))
    # preschool | primary | secondary | vocational | other
    type: Mapped[str] = mapped_column(String(30))
    school_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    principal_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    principal_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    website: Mapped[str | None] = mapped_column(String(300), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|validated|rejected
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    registered_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_org_country_state", "country", "state"),
        Index("ix_org_country_city", "country", "city_folded"),
        # near-duplicate check: the same national school number
        Index("ix_org_country_school_number", "country", "school_number"),
        # the NSO queue of new organisations, oldest first
        Index("ix_org_country_state_created", "country", "state", "created_at"),
    )


class OrganisationToken(Base):
    """Folded name tokens: the search index (country + keyword prefix, on any database)."""

    __tablename__ = "organisation_tokens"
    org_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    # byte-order collation on PostgreSQL, so a prefix is an index range scan
    token: Mapped[str] = mapped_column(
        String(80).with_variant(String(80, collation="C"), "postgresql"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2))

    __table_args__ = (Index("ix_orgtok_country_token", "country", "token", "org_id"),)


class Membership(Base):
    """A user's role at an organisation. ``left_at`` set means the user left it."""

    __tablename__ = "memberships"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Application(Base):
    """A teacher's eTwinning application, worked by the NSO of the user's country."""

    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    # pending | info_requested | approved | rejected | withdrawn
    state: Mapped[str] = mapped_column(String(20), default="pending")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_app_country_state", "country", "state", "submitted_at"),)


# --- Networking: contacts and partner finding ------------------------------------------------


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    requester_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    addressee_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|accepted|declined
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PartnerPost(Base):
    __tablename__ = "partner_posts"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    subjects: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    pupil_age_min: Mapped[int] = mapped_column(Integer)
    pupil_age_max: Mapped[int] = mapped_column(Integer)
    country: Mapped[str] = mapped_column(String(2), index=True)
    expires_at: Mapped[datetime] = mapped_column()
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostInterest(Base):
    __tablename__ = "post_interests"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    post_id: Mapped[str] = mapped_column(ForeignKey("partner_posts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)


class PostReport(Base):
    __tablename__ = "post_reports"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    post_id: Mapped[str] = mapped_column(ForeignKey("partner_posts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)


# --- Projects and TwinSpaces -----------------------------------------------------------------


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    short_description: Mapped[str] = mapped_column(Text)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    pupils_count: Mapped[int] = mapped_column(Integer)
    age_min: Mapped[int] = mapped_column(Integer)
    age_max: Mapped[int] = mapped_column(Integer)
    subjects: Mapped[list] = mapped_column(JSON, default=list)
    vocational_subjects: Mapped[list] = mapped_column(JSON, default=list)
    aims: Mapped[str] = mapped_column(Text)
    work_process: Mapped[str] = mapped_column(Text)
    expected_results: Mapped[str] = mapped_column(Text)
    image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    image_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # awaiting_partner | awaiting_nso | approved | rejected | declined | closed
    state: Mapped[str] = mapped_column(String(20), default="awaiting_partner", index=True)
    scope: Mapped[str] = mapped_column(String(10))  # national | european
    creator_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    creator_school_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    partner_school_id: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    partner_decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ProjectApproval(Base):
    """One NSO's decision on a project: one row per founder country."""

    __tablename__ = "project_approvals"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    country: Mapped[str] = mapped_column(String(2))
    # waiting (partner not yet accepted) | pending | info_requested | approved | rejected
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    queued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        UniqueConstraint("project_id", "country"),
        Index("ix_approval_country_state", "country", "state", "queued_at"),
    )


class ProjectMember(Base):
    __tablename__ = "project_members"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # teacher_admin | teacher | observer
    founder: Mapped[bool] = mapped_column(Boolean, default=False)
    # invited | active
    state: Mapped[str] = mapped_column(String(20), default="active")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)


class Page(Base):
    """A TwinSpace page. The body is a pycrdt document stored as its full update."""

    __tablename__ = "pages"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("pages.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | published
    doc: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(ID, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # metadata version, for If-Match


class PageRevision(Base):
    """Every CRDT update applied to a page, with who and when: the page history."""

    __tablename__ = "page_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    author_kind: Mapped[str] = mapped_column(String(10))  # user | pupil
    author_id: Mapped[str] = mapped_column(ID)
    author_name: Mapped[str] = mapped_column(String(200))
    update: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Pupil(Base):
    """A pupil account: pseudonymous, no email, no birth date, scoped to one TwinSpace."""

    __tablename__ = "pupils"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    username: Mapped[str] = mapped_column(String(60), unique=True)
    nickname: Mapped[str] = mapped_column(String(60))
    code_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="pupil")  # pupil | pupil_admin
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Material(Base):
    __tablename__ = "materials"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    page_id: Mapped[str] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Notifications, audit, idempotency, change feed ------------------------------------------


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    subject_type: Mapped[str | None] = mapped_column(String(30), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)


class AuditEntry(Base):
    """Every NSO decision: who, when, what, why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    action: Mapped[str] = mapped_column(String(40))  # approve | reject | request_info | undo
    subject_type: Mapped[str] = mapped_column(String(30))  # application | organisation | project
    subject_id: Mapped[str] = mapped_column(ID)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # what the decision changed (the state before it), so it can be undone
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_audit_subject", "subject_type", "subject_id"),
        Index("ix_audit_country_at", "country", "at"),
    )


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    body_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))  # in_flight | done
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    response_headers: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Change(Base):
    """The change feed: one row per (audience, entity) touched, read by cursor."""

    __tablename__ = "changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audience: Mapped[str] = mapped_column(String(60))  # user:<id> | project:<id> | nso:<cc>
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(ID)
    op: Mapped[str] = mapped_column(String(10))  # upsert | delete
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_changes_audience_seq", "audience", "seq"),)
