"""TwinSpace: pages (CRDT bodies, sync, history), pupils and pupil sign-in, materials."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from api_client.models.common import StrictInput, Wire

PageStatus = Literal["draft", "published"]
PupilRole = Literal["pupil", "pupil_admin"]

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

# limits, also shown in the API description so clients can check before sending
MAX_UPDATE_BYTES = 1024 * 1024  # one sync's update, decoded
MAX_DOC_BYTES = 8 * 1024 * 1024  # a page's whole document
MAX_MATERIAL_BYTES = 512 * 1024  # one material, decoded
MAX_MARKDOWN_CHARS = 200_000  # initial markdown of a new page
# base64 fields may be a little longer than the limit so an oversize body answers
# ``too_large`` (with the limit) rather than a generic validation error
_B64_UPDATE_CHARS = 4 * MAX_UPDATE_BYTES
_B64_MATERIAL_CHARS = 4 * MAX_MATERIAL_BYTES


def _lower_uuid(v: str | None) -> str | None:
    return v.lower() if v else v


# --- permissions --------------------------------------------------------------------------


class TwinSpacePermissions(Wire):
    """What the caller may do here, so the client can grey out what the server would refuse."""

    role: str  # teacher_admin | teacher | observer | pupil_admin | pupil
    read_only: bool  # the project is closed
    read_only_reason: str | None = None
    can_edit_pages: bool  # create, rename, move, delete, publish
    can_create_pages: bool
    can_edit_bodies: bool
    can_manage_pupils: bool
    can_upload: bool
    sees_drafts: bool


# --- pages --------------------------------------------------------------------------------


class PageMeta(Wire):
    id: str
    project_id: str
    parent_id: str | None = None
    position: int
    title: str
    status: str  # draft | published
    version: int  # metadata version, for If-Match on PATCH
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str | None = None
    # the body's state vector (base64): a client holding the same one has nothing to fetch
    state_vector: str


class PageTree(Wire):
    """Every page of a TwinSpace the caller may see, in tree order (parent before children,
    siblings by position). Visibility depends only on the caller's role, never on language."""

    project_id: str
    project_state: str  # approved | closed
    permissions: TwinSpacePermissions
    items: list[PageMeta]


class PageOut(PageMeta):
    doc: str  # base64 of the full document (a pycrdt update)
    text: str  # the body's markdown, for clients that only read


class PageCreate(StrictInput):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, max_length=36)
    position: int | None = Field(default=None, ge=0, le=100_000)
    status: PageStatus = "draft"
    # either a starting text, or (offline clients) the document they already edited
    markdown: str | None = Field(default=None, max_length=MAX_MARKDOWN_CHARS)
    update: str | None = Field(default=None, max_length=_B64_UPDATE_CHARS)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return _lower_uuid(v)


class PagePatch(StrictInput):
    """Only the fields sent change; ``parent_id: null`` moves the page to the top level."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, max_length=36)
    position: int | None = Field(default=None, ge=0, le=100_000)
    status: PageStatus | None = None


class SyncRequest(StrictInput):
    # the client's state vector *including* its pending update, so the answer holds only
    # what the client lacks
    state_vector: str = Field(default="", max_length=262_144)
    update: str | None = Field(default=None, max_length=_B64_UPDATE_CHARS)


class SyncResponse(Wire):
    update: str  # base64: only what the client lacks
    state_vector: str  # base64: the server's state after this sync
    version: int
    # the server held insertions the client had not seen (someone else's text)
    merged_from_others: bool
    # False when part of the update built on changes the server has not received; the
    # client sends again from the returned state vector
    applied_fully: bool = True
    revision_id: int | None = None  # the history entry this sync created, if any


class RevisionOut(Wire):
    id: int
    page_id: str
    author_kind: str  # user | pupil | system
    author_id: str
    author_name: str
    at: datetime
    summary: str
    size: int  # bytes of the stored change


class RevisionList(Wire):
    items: list[RevisionOut]
    total: int
    next_offset: int | None = None


class RestoreRequest(StrictInput):
    revision_id: int = Field(ge=1, le=2**62)


# --- pupils -------------------------------------------------------------------------------


class PupilsCreate(StrictInput):
    nicknames: list[str] = Field(min_length=1, max_length=100)
    role: PupilRole = "pupil"

    @field_validator("nicknames")
    @classmethod
    def _nicknames(cls, values: list[str]) -> list[str]:
        cleaned = []
        for raw in values:
            nick = " ".join(raw.split())
            if not nick:
                raise ValueError("a nickname cannot be empty")
            if len(nick) > 60:
                raise ValueError("a nickname has at most 60 characters")
            if any(not ch.isprintable() for ch in nick):
                raise ValueError("a nickname cannot contain control characters")
            cleaned.append(nick)
        return cleaned


class PupilOut(Wire):
    id: str
    project_id: str
    username: str
    nickname: str
    role: str
    created_at: datetime


class PupilWithCode(PupilOut):
    # shown only in the answer that created or reset it; the server keeps a hash
    code: str


class PupilsCreated(Wire):
    items: list[PupilWithCode]


class PupilList(Wire):
    items: list[PupilOut]


class PupilPatch(StrictInput):
    role: PupilRole


class PupilLogin(StrictInput):
    username: str = Field(min_length=1, max_length=60)
    code: str = Field(min_length=1, max_length=60)


# --- materials ----------------------------------------------------------------------------


class MaterialCreate(StrictInput):
    id: str | None = Field(default=None, pattern=UUID_PATTERN)
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100)
    data_base64: str = Field(max_length=_B64_MATERIAL_CHARS)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return _lower_uuid(v)


class MaterialOut(Wire):
    id: str
    page_id: str
    project_id: str
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    created_at: datetime


class MaterialList(Wire):
    items: list[MaterialOut]
