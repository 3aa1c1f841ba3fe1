"""EU Login (simulated) and sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from api_client.models.common import StrictInput, Wire

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class AccountCreate(StrictInput):
    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    # 64 multibyte characters are fine; the upper bound keeps hashing cheap
    password: str = Field(min_length=10, max_length=256)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class Credentials(StrictInput):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(StrictInput):
    refresh_token: str = Field(min_length=1, max_length=200)


class LegacyMatch(Wire):
    platform: str  # etwinning | seg
    first_name: str
    last_name: str
    country: str


class AccountOut(Wire):
    id: str
    email: str
    name: str
    created_at: datetime
    # the platform user id once the registration form is done
    user_id: str | None = None
    # an old eTwinning / School Education Gateway account with this email, not yet linked
    legacy: LegacyMatch | None = None


class TokenPair(Wire):
    # kept out of reprs, so a logged or printed pair never shows the secrets
    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    token_type: str = "bearer"
    expires_in: int  # seconds until the access token expires
    account_id: str | None = None
    pupil_id: str | None = None
