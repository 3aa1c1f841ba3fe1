"""Test data written straight to the database, so each area's tests need only its own routes.

t = make_teacher(app, country="GR")            # validated teacher at a validated school
client.get("/users/me", headers=t.headers)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from reference_backend import security
from reference_backend.tables import Account, Membership, Organisation, User, new_id

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_PASSWORD_HASH: list[str] = []


def _hash() -> str:
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(security.hash_password(PASSWORD))
    return _PASSWORD_HASH[0]


@dataclass
class Persona:
    account_id: str
    user_id: str | None
    email: str
    token: str
    refresh: str
    org_ids: list[str] = field(default_factory=list)
    membership_ids: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_org(
    app,
    *,
    country: str = "GR",
    name: str | None = None,
    city: str = "Athens",
    type: str = "primary",
    state: str = "validated",
    registered_by: str | None = None,
) -> str:
    from reference_backend.domain.search import index_organisation

    n = next(_counter)
    name = name or f"School number {n}"
    with app.state.sessionmaker() as db, db.begin():
        org = Organisation(
            id=new_id(),
            legal_name=name,
            public_name=name,
            country=country,
            city=city,
            city_folded="",
            type=type,
            state=state,
            registered_by=registered_by,
        )
        db.add(org)
        db.flush()
        index_organisation(db, org)
        return org.id


def make_account(app, *, email: str | None = None, name: str = "Test Person") -> Persona:
    n = next(_counter)
    email = email or f"person{n}@example.org"
    with app.state.sessionmaker() as db, db.begin():
        account = Account(id=new_id(), email=email.lower(), password_hash=_hash(), name=name)
        db.add(account)
        db.flush()
        _session, access, refresh = security.issue_session(db, "account", account.id)
        return Persona(account.id, None, email.lower(), access, refresh)


def make_teacher(
    app,
    *,
    country: str = "GR",
    state: str = "etwinning_validated",
    first_name: str = "Maria",
    last_name: str | None = None,
    role: str = "teacher",
    available: bool = True,
    org_id: str | None = None,
    org_state: str = "validated",
    org_type: str = "primary",
    with_org: bool = True,
    staff_country: str | None = None,
    email: str | None = None,
) -> Persona:
    """A platform user with a session. Defaults: validated teacher at a validated school."""
    from reference_backend.text import fold

    n = next(_counter)
    last_name = last_name or f"Tester{n}"
    persona = make_account(app, email=email, name=f"{first_name} {last_name}")
    if with_org and org_id is None and staff_country is None:
        org_id = make_org(app, country=country, state=org_state, type=org_type)
    with app.state.sessionmaker() as db, db.begin():
        user = User(
            id=new_id(),
            account_id=persona.account_id,
            first_name=first_name,
            last_name=last_name,
            name_folded=fold(f"{first_name} {last_name}"),
            country=country,
            capacity="school_staff",
            state=state,
            staff_country=staff_country,
            available_for_projects=available,
            subjects=["Mathematics"],
            languages=["en"],
            pupil_age_min=8,
            pupil_age_max=12,
        )
        db.add(user)
        db.flush()
        persona.user_id = user.id
        if org_id is not None:
            m = Membership(id=new_id(), user_id=user.id, org_id=org_id, role=role)
            db.add(m)
            persona.org_ids.append(org_id)
            persona.membership_ids.append(m.id)
    return persona


def make_staff(app, country: str = "GR") -> Persona:
    """An NSO staff member of ``country``."""
    return make_teacher(
        app, country=country, staff_country=country, first_name="Nso", with_org=False
    )
