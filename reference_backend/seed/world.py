"""The deterministic demo world, written with bulk inserts straight into the tables.

Everything comes from one ``random.Random`` with a fixed seed and ids are UUIDv5 of stable
keys, so two seeds of the same size give the same world (times are relative to the clock at
seeding). Rows are buffered per table and written in chunks (``executemany``); a table's
buffer is written only after every table it refers to, so foreign keys always hold.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, timedelta
from types import SimpleNamespace

from sqlalchemy import JSON, Engine, insert, select

from api_client import crdt
from reference_backend import clock, security
from reference_backend.domain import search
from reference_backend.domain.countries import COUNTRIES, SCHOOL_NUMBER_REQUIRED
from reference_backend.domain.rules import SCHOOL_TYPES
from reference_backend.seed import locales as L
from reference_backend.tables import (
    Account,
    Application,
    AuditEntry,
    Contact,
    LegacyAccount,
    Membership,
    Notification,
    Organisation,
    OrganisationToken,
    Page,
    PageRevision,
    PartnerPost,
    PostInterest,
    PostReport,
    Project,
    ProjectApproval,
    ProjectMember,
    Pupil,
    User,
    UTCDateTime,
)
from reference_backend.text import fold

SEED = 20220930  # the day the old eTwinning platform was switched off
NAMESPACE = uuid.UUID("6f1c2f0e-2b1d-4c8e-9a51-0e5e7a1d2022")
DEMO_PASSWORD = "eTwinning-demo-2026"
DOMAIN = "demo.esep"
DEMO_ORGS = 2000
DEMO_TEACHERS = 600
CHUNK = 5000

# FK order: a table only refers to tables before it
ORDER = [
    Account,
    User,
    LegacyAccount,
    Organisation,
    OrganisationToken,
    Membership,
    Application,
    Contact,
    PartnerPost,
    PostInterest,
    PostReport,
    Project,
    ProjectApproval,
    ProjectMember,
    Page,
    PageRevision,
    Pupil,
    Notification,
    AuditEntry,
]


def sid(*key) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(k) for k in key)))


def new_trainee_email(n: int) -> str:
    """The EU Login email of the ``n``-th fresh "new teacher" (never seeded, so always free)."""
    return f"new.teacher.{n}@{DOMAIN}"


def _persona(key, label, kind, email, first, last, country, **extra):
    return {
        "key": key,
        "label": label,
        "kind": kind,
        "email": email,
        "password": DEMO_PASSWORD,
        "name": f"{first} {last}".strip(),
        "first_name": first,
        "last_name": last,
        "country": country,
        "account_id": sid("account", key) if email else None,
        "user_id": sid("user", key) if kind in ("teacher", "nso") else None,
        **extra,
    }


PUPIL_CODE = "kite-7m4q"

# The trainer's persona picker reads this. Ids are stable for every seed size.
PERSONAS: list[dict] = [
    {
        "key": "new_teacher",
        "label": "A brand-new teacher (nothing yet: starts the registration wizard)",
        "description": "A fresh EU Login account is created: the registration wizard from step 1",
        "kind": "new_teacher",
        "email": None,
        "email_pattern": new_trainee_email(1).replace(".1@", ".<n>@"),
        "password": DEMO_PASSWORD,
        "name": "",
        "country": "GR",
        "account_id": None,
        "user_id": None,
    },
    _persona(
        "greek_teacher",
        "Validated Greek teacher with contacts",
        "teacher",
        f"maria.papadopoulou@{DOMAIN}",
        "Μαρία",
        "Παπαδοπούλου",
        "GR",
        school="1ο Δημοτικό Σχολείο Αθηνών",
        description="Μαρία Παπαδοπούλου · 1ο Δημοτικό Σχολείο Αθηνών · contacts, a running "
        "TwinSpace, an invitation sent",
    ),
    _persona(
        "polish_teacher",
        "Polish partner teacher with a pending project invitation",
        "teacher",
        f"katarzyna.kowalska@{DOMAIN}",
        "Katarzyna",
        "Kowalska",
        "PL",
        school="Szkoła Podstawowa nr 12 im. Marii Skłodowskiej-Curie w Łodzi",
        project_id=sid("project", "invitation"),
        description="Katarzyna Kowalska · SP nr 12 w Łodzi · a pending project invitation",
    ),
    _persona(
        "nso_greece",
        "NSO Greece staff member with a queue",
        "nso",
        f"nso.greece@{DOMAIN}",
        "Ελένη",
        "Γεωργίου",
        "GR",
        staff_country="GR",
        description="Ελένη Γεωργίου · NSO Greece · validation queues, old and new",
    ),
    _persona(
        "nso_poland",
        "NSO Poland staff member",
        "nso",
        f"nso.poland@{DOMAIN}",
        "Agnieszka",
        "Wójcik",
        "PL",
        staff_country="PL",
        description="Agnieszka Wójcik · NSO Poland · validation queues",
    ),
    {
        "key": "pupil",
        "label": "A pupil of the running Greek–Polish TwinSpace",
        "description": "Eleni K. · pupil login olive-owl-2022 · “Tales from two towns”",
        "kind": "pupil",
        "email": None,
        "password": None,
        "username": "olive-owl-2022",
        "code": PUPIL_CODE,
        "name": "Eleni K.",
        "country": "GR",
        "account_id": None,
        "user_id": None,
        "pupil_id": sid("pupil", "persona"),
        "project_id": sid("project", "running"),
    },
]
PERSONA = {p["key"]: p for p in PERSONAS}

# Other named people of the story (not in the picker, but they can sign in the same way)
EXTRA_PEOPLE: list[dict] = [
    _persona(
        "polish_partner",
        "Polish teacher running the Greek–Polish TwinSpace with Maria",
        "teacher",
        f"piotr.wisniewski@{DOMAIN}",
        "Piotr",
        "Wiśniewski",
        "PL",
        school="Szkoła Podstawowa nr 5 w Krakowie",
    ),
    _persona(
        "legacy_teacher",
        "EU Login account of a teacher from the old eTwinning platform: registering on the "
        "platform links the old account and migrates its profile",
        "legacy",
        f"jan.kowalczyk@{DOMAIN}",
        "Jan",
        "Kowalczyk",
        "PL",
    ),
]


RESERVED_NAMES = {p["name"] for p in PERSONAS + EXTRA_PEOPLE if p["name"]}


# --- writing -----------------------------------------------------------------------------------


_COPY_CONVERT = {
    JSON: json.dumps,
    UTCDateTime: lambda v: v.astimezone(UTC).replace(tzinfo=None),
}


class Writer:
    def __init__(self, conn):
        self.conn = conn
        self.buffers: dict[type, list[dict]] = {t: [] for t in ORDER}
        self.counts: dict[str, int] = {t.__tablename__: 0 for t in ORDER}
        # PostgreSQL: COPY in the same transaction, several times faster than INSERTs
        self.copy = conn.dialect.name == "postgresql"

    def _copy(self, table, rows: list[dict]) -> None:
        columns = list(rows[0])
        # columns added to the schema later: their Python-side defaults, as an INSERT would
        defaults = [
            (c.name, c.default)
            for c in table.__table__.c
            if c.name not in rows[0] and c.default is not None and c.autoincrement is not True
        ]
        if defaults:
            for row in rows:
                for name, default in defaults:
                    row[name] = default.arg(None) if default.is_callable else default.arg
            columns += [name for name, _ in defaults]
        converters = [_COPY_CONVERT.get(type(table.__table__.c[c].type)) for c in columns]
        names = ", ".join(f'"{c}"' for c in columns)
        raw = self.conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f'COPY "{table.__tablename__}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(
                    [
                        conv(row[c]) if conv is not None and row[c] is not None else row[c]
                        for c, conv in zip(columns, converters, strict=True)
                    ]
                )

    def add(self, table, row: dict) -> None:
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(upto=table)

    def flush(self, upto=None) -> None:
        for table in ORDER:
            buf = self.buffers[table]
            if buf:
                if self.copy:
                    self._copy(table, buf)
                else:
                    self.conn.execute(insert(table), buf)
                self.counts[table.__tablename__] += len(buf)
                self.buffers[table] = []
            if table is upto:
                return


# --- names -------------------------------------------------------------------------------------

_PAIRS = (
    "α:a β:v γ:g δ:d ε:e ζ:z η:i θ:th ι:i κ:k λ:l μ:m ν:n ξ:x ο:o π:p ρ:r σ:s τ:t υ:y φ:f "
    "χ:ch ψ:ps ω:o а:a б:b в:v г:g ґ:g д:d е:e є:ye ж:zh з:z и:i і:i ї:yi й:y к:k л:l м:m "
    "н:n о:o п:p р:r с:s т:t у:u ф:f х:kh ц:ts ч:ch ш:sh щ:shch ъ: ы:y ь: э:e ю:yu я:ya "
    "ђ:dj ј:j љ:lj њ:nj ћ:c џ:dz ѓ:gj ќ:kj ѕ:dz"
)
_TRANSLIT = str.maketrans(dict(pair.split(":") for pair in _PAIRS.split()))


def ascii_slug(text: str) -> str:
    out = fold(text).replace("ου", "ou").translate(_TRANSLIT)
    out = "".join(ch for ch in out if ch.isascii() and (ch.isalnum() or ch == " "))
    return ".".join(out.split()) or ""


class Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set()
        self.counters: dict[tuple, int] = {}
        self.emails = 0

    def lang(self, country: str) -> dict:
        langs = L.COUNTRY_DATA[country][0]
        return L.LANGS[self.rng.choice(langs)]

    def city(self, country: str) -> tuple[str, str, str]:
        cities = L.COUNTRY_DATA[country][1]
        # big cities first in the list: more schools there
        c = cities[min(int(self.rng.paretovariate(1.2)) - 1, len(cities) - 1)]
        return c[0], c[1], c[2] if len(c) > 2 else c[0]

    def org_name(self, country: str, kind: str) -> tuple[str, str, str]:
        lang = self.lang(country)
        city, region, cityf = self.city(country)
        templates = lang[kind]
        numbered = [t for t in templates if "{n}" in t]
        template = self.rng.choice(templates)
        for attempt in range(6):
            if attempt >= 2 and numbered:  # a taken name: a numbered template is always free
                template = self.rng.choice(numbered)
            key = (country, city, template)
            n = self.counters.get(key, 0) + 1
            self.counters[key] = n
            name = template.format(
                n=n,
                city=city,
                cityf=cityf,
                patron=self.rng.choice(lang["patrons"]) if "{patron}" in template else "",
                street=self.rng.choice(lang["streets"]) if "{street}" in template else "",
            )
            if name not in self.taken:
                self.taken.add(name)
                return name, city, region
        name = f"{name} – {n}"  # a branch site of a school with a name and no number
        self.taken.add(name)
        return name, city, region

    def person(self, country: str) -> tuple[str, str]:
        for _ in range(20):  # the story's people have names of their own
            first, last = self._person(country)
            if f"{first} {last}" not in RESERVED_NAMES:
                break
        return first, last

    def _person(self, country: str) -> tuple[str, str]:
        lang = self.lang(country)
        if self.rng.random() < 0.7:  # most teachers are women
            return self.rng.choice(lang["first_f"]), self.rng.choice(lang["last_f"])
        return (
            self.rng.choice(lang["first_m"]),
            self.rng.choice(lang.get("last_m", lang["last_f"])),
        )

    def email(self, first: str, last: str) -> str:
        self.emails += 1
        local = ascii_slug(f"{first} {last}") or "teacher"
        return f"{local}.{self.emails}@schools.{DOMAIN}"


def school_number(rng: random.Random, country: str) -> str | None:
    if country not in SCHOOL_NUMBER_REQUIRED and rng.random() < 0.5:
        return None
    if country == "FR":
        return f"{rng.randrange(10**7):07d}{rng.choice('ABCDEFGHJK')}"
    if country == "IT":
        return f"{rng.choice(['RM', 'MI', 'NA', 'TO', 'PA', 'BO'])}IC{rng.randrange(10**5):05d}"
    if country == "PL":
        return f"{rng.randrange(10**6):06d}"
    return f"{rng.randrange(10**7):07d}"


# --- the world ---------------------------------------------------------------------------------


class World:
    def __init__(self, writer: Writer, schools: int | None):
        self.w = writer
        self.rng = random.Random(SEED)
        self.names = Names(self.rng)
        self.now = clock.now()
        self.n_orgs = DEMO_ORGS if schools is None else max(100, schools)
        self.n_teachers = (
            DEMO_TEACHERS if schools is None else max(60, self.n_orgs * DEMO_TEACHERS // DEMO_ORGS)
        )
        self.n_projects = max(24, self.n_teachers // 5)
        self.password_hash = security.hash_password(DEMO_PASSWORD)
        from reference_backend.routes.pupils import normalise_code

        self.persona_code_hash = security.hash_password(normalise_code(PUPIL_CODE))
        # a few activation codes shared by the generated pupils: one hash per distinct code
        self.pupil_code_hashes = [
            security.hash_password(normalise_code(f"demo-{i:04d}")) for i in range(8)
        ]
        self.staff: dict[str, list[str]] = {}
        self.users: dict[str, dict] = {}  # user id -> small facts used while generating
        self.schools: dict[str, list[str]] = {c: [] for c in COUNTRIES}  # validated schools
        self.org_city: dict[str, str] = {}
        self.user_schools: dict[str, list[str]] = {}
        self.contacts: dict[str, list[str]] = {}  # accepted contacts per user
        self.pairs: set[tuple[str, str]] = set()
        self.teacher_n = 0
        self.pending_n: dict[str, int] = {}

    def ago(self, days: float, spread: float = 0.0) -> object:
        return self.now - timedelta(days=days + self.rng.random() * spread)

    # rows -----------------------------------------------------------------------------------

    def account(self, aid: str, email: str, name: str, created) -> None:
        self.w.add(
            Account,
            {
                "id": aid,
                "email": email.lower(),
                "password_hash": self.password_hash,
                "name": name,
                "disabled": False,
                "created_at": created,
            },
        )

    def user(self, uid, aid, first, last, country, *, state, capacity="school_staff", **kw):
        created = kw.pop("created_at", self.ago(30, 900))
        subjects = self.rng.sample(L.SUBJECTS, self.rng.randint(1, 3))
        lang_code = L.LANGUAGE_CODES[L.COUNTRY_DATA[country][0][0]]
        languages = list(dict.fromkeys([lang_code, "en", *self.rng.sample(["fr", "de", "es"], 1)]))
        age_min = self.rng.choice([3, 6, 8, 10, 12, 15])
        row = {
            "id": uid,
            "account_id": aid,
            "first_name": first,
            "last_name": last,
            "name_folded": fold(f"{first} {last}"),
            "country": country,
            "capacity": capacity,
            "state": state,
            "rejection_reason": None,
            "active": True,
            "staff_country": None,
            "available_for_projects": False,
            "subjects": subjects,
            "languages": languages,
            "pupil_age_min": age_min,
            "pupil_age_max": age_min + self.rng.choice([2, 3, 4]),
            "description": "",
            "visibility": "platform",
            "profile_done": False,
            "legacy_account_id": None,
            "created_at": created,
            "updated_at": created,
            "version": 1,
        }
        row.update(kw)
        self.w.add(User, row)
        self.users[uid] = {
            "country": country,
            "state": state,
            "name": f"{first} {last}",
            "available": row["available_for_projects"],
            "active": row["active"],
            "created": created,
        }

    def organisation(self, oid, country, kind, state, *, name=None, city=None, region=None, **kw):
        if name is None:
            name, city, region = self.names.org_name(country, kind)
        else:
            self.names.taken.add(name)
        org_type = kind if kind != "other" else "other"
        self.org_no = getattr(self, "org_no", 0) + 1
        created = kw.pop("created_at", self.ago(60, 3000))
        row = {
            "id": oid,
            "legal_name": name,
            "public_name": name,
            "country": country,
            "region": region or "",
            "city": city,
            "city_folded": fold(city),
            "type": org_type,
            "school_number": school_number(self.rng, country) if kind != "other" else None,
            "principal_name": " ".join(self.names.person(country)) if kind != "other" else None,
            "principal_email": f"office{self.org_no}@schools.{DOMAIN}" if kind != "other" else None,
            "website": f"https://school{self.org_no}.{country.lower()}.{DOMAIN}",
            "state": state,
            "rejection_reason": None,
            "registered_by": None,
            "created_at": created,
            "decided_at": None if state == "pending" else created + timedelta(days=3),
            "version": 1,
        }
        row.update(kw)
        self.w.add(Organisation, row)
        like = SimpleNamespace(public_name=name, legal_name=name, city=city)
        for tok in search.org_tokens(like):
            self.w.add(OrganisationToken, {"org_id": oid, "token": tok, "country": country})
        self.org_city[oid] = city
        if state == "validated" and org_type in SCHOOL_TYPES:
            self.schools[country].append(oid)

    def membership(self, uid, oid, role="teacher", *, left=False):
        self.w.add(
            Membership,
            {
                "id": sid("membership", uid, oid),
                "user_id": uid,
                "org_id": oid,
                "role": role,
                "created_at": self.users[uid]["created"] + timedelta(hours=1),
                "left_at": self.ago(20, 100) if left else None,
            },
        )
        if not left and role != "company_staff":
            self.user_schools.setdefault(uid, []).append(oid)

    def audit(self, actor, country, action, subject_type, subject_id, reason, at):
        self.w.add(
            AuditEntry,
            {
                "actor_id": actor,
                "country": country,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "reason": reason,
                "at": at,
            },
        )

    def notification(self, uid, kind, text, subject_type, subject_id, at, read=False):
        self.w.add(
            Notification,
            {
                "id": sid("notification", uid, kind, subject_id),
                "user_id": uid,
                "kind": kind,
                "text": text,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "created_at": at,
                "read_at": at + timedelta(hours=5) if read else None,
            },
        )

    def application(self, uid, country, state, submitted, *, reason=None, key="app"):
        aid = sid("application", uid, key)
        decided = None if state == "pending" else submitted + timedelta(days=self.rng.randint(1, 9))
        staff = self.rng.choice(self.staff[country])
        if state == "info_requested":
            decided = None
        self.w.add(
            Application,
            {
                "id": aid,
                "user_id": uid,
                "country": country,
                "state": state,
                "submitted_at": submitted,
                "decided_at": decided,
                "decided_by": staff if state in ("approved", "rejected") else None,
                "reason": reason,
                "version": 1,
            },
        )
        if state in ("approved", "rejected"):
            action = "approve" if state == "approved" else "reject"
            self.audit(staff, country, action, "application", aid, reason, decided)
            self.notification(
                uid,
                "application_decision",
                "Your eTwinning registration was validated: welcome to eTwinning!"
                if state == "approved"
                else f"Your eTwinning registration was not validated: {reason}",
                "application",
                aid,
                decided,
                read=self.rng.random() < 0.8,
            )
        elif state == "info_requested":
            self.audit(
                staff,
                country,
                "request_info",
                "application",
                aid,
                reason,
                submitted + timedelta(days=2),
            )

    # phases ---------------------------------------------------------------------------------

    def country_weights(self) -> tuple[list[str], list[int]]:
        codes = list(COUNTRIES)
        weights = [L.COUNTRY_DATA[c][2] for c in codes]
        return codes, weights

    def build(self) -> None:
        self.make_staff()
        teachers = self.make_teacher_users()
        self.make_persona_world_orgs()
        self.make_orgs(teachers)
        self.make_memberships(teachers)
        self.make_contacts()
        self.make_posts()
        self.make_projects()
        self.make_legacy()
        self.w.flush()

    def make_staff(self) -> None:
        per_country = 2 + self.n_orgs // 50_000
        for p in PERSONAS + EXTRA_PEOPLE:
            if p["kind"] in ("teacher", "nso", "legacy"):
                self.account(p["account_id"], p["email"], p["name"], self.ago(400))
        for p in (PERSONA["nso_greece"], PERSONA["nso_poland"]):
            self.user(
                p["user_id"],
                p["account_id"],
                p["first_name"],
                p["last_name"],
                p["country"],
                state="esep_registered",
                capacity="policy_maker",
                staff_country=p["staff_country"],
                created_at=self.ago(700),
            )
        for country in COUNTRIES:
            ids = []
            for i in range(per_country):
                uid, aid = sid("staff", country, i), sid("staff-account", country, i)
                first, last = self.names.person(country)
                self.account(
                    aid, f"nso{i + 1}.{country.lower()}@{DOMAIN}", f"{first} {last}", self.ago(700)
                )
                self.user(
                    uid,
                    aid,
                    first,
                    last,
                    country,
                    state="esep_registered",
                    capacity="policy_maker",
                    staff_country=country,
                    created_at=self.ago(700),
                )
                ids.append(uid)
            self.staff[country] = ids
        self.staff["GR"].append(PERSONA["nso_greece"]["user_id"])
        self.staff["PL"].append(PERSONA["nso_poland"]["user_id"])

    # teachers: (uid, country, kind) where kind says which account state and role they get
    KINDS = [
        ("validated", 52),
        ("pending", 14),
        ("info_requested", 2),
        ("rejected", 5),
        ("registered", 10),
        ("registered_no_org", 4),
        ("registered_pending_org", 4),
        ("company_staff", 5),
        ("inactive", 2),
        ("stale_link", 2),
    ]

    def make_teacher_users(self) -> list[tuple[str, str, str]]:
        codes, weights = self.country_weights()
        boosted = [w * (2 if c in ("GR", "PL") else 1) for c, w in zip(codes, weights, strict=True)]
        kinds = [k for k, _ in self.KINDS]
        kind_weights = [w for _, w in self.KINDS]
        forced = [*kinds, "pending"]  # two pending: a young and an old queue item
        out = []
        # the story's teachers first
        for key in ("greek_teacher", "polish_teacher", "polish_partner"):
            p = PERSONA.get(key) or next(e for e in EXTRA_PEOPLE if e["key"] == key)
            self.user(
                p["user_id"],
                p["account_id"],
                p["first_name"],
                p["last_name"],
                p["country"],
                state="etwinning_validated",
                available_for_projects=True,
                profile_done=True,
                created_at=self.ago(500),
                description="Primary teacher; loves storytelling and outdoor science.",
                subjects=["Mother tongue", "Science", "Art"],
                languages=[L.LANGUAGE_CODES[L.COUNTRY_DATA[p["country"]][0][0]], "en"],
                pupil_age_min=8,
                pupil_age_max=11,
            )
            self.application(p["user_id"], p["country"], "approved", self.ago(480))
        for i in range(self.n_teachers):
            # every kind appears at least once, whatever the size; GR/PL queues always fill
            if i < len(forced) * 2:
                kind, country = forced[i % len(forced)], ("GR", "PL")[i // len(forced)]
            else:
                kind = self.rng.choices(kinds, kind_weights)[0]
                country = self.rng.choices(codes, boosted)[0]
            first, last = self.names.person(country)
            uid, aid = sid("teacher", i), sid("teacher-account", i)
            created = self.ago(2, 1200)
            self.account(aid, self.names.email(first, last), f"{first} {last}", created)
            state = {
                "validated": "etwinning_validated",
                "inactive": "etwinning_validated",
                "stale_link": "etwinning_validated",
                "pending": "etwinning_pending",
                "info_requested": "etwinning_pending",
                "rejected": "etwinning_rejected",
            }.get(kind, "esep_registered")
            extra = {}
            if kind in ("validated", "inactive", "stale_link"):
                extra["available_for_projects"] = self.rng.random() < 0.85
                extra["profile_done"] = True
            if kind == "inactive":
                extra["active"] = False
            if kind == "rejected":
                extra["rejection_reason"] = self.rng.choice(REJECTIONS)
            if kind.startswith("registered") and self.rng.random() < 0.5:
                created = self.ago(0, 6)
            self.user(uid, aid, first, last, country, state=state, created_at=created, **extra)
            out.append((uid, country, kind))
        return out

    def make_orgs(self, teachers) -> None:
        codes, weights = self.country_weights()
        registrants: dict[str, list[str]] = {}
        for uid, country, kind in teachers:
            if kind == "registered_pending_org":
                registrants.setdefault(country, []).append(uid)
        self.pending_org_of: dict[str, str] = {}
        # at least eight organisations per country, the rest by size
        plan = [c for c in codes for _ in range(8)]
        rest = self.n_orgs - len(plan) - 4
        plan += self.rng.choices(codes, weights, k=max(0, rest))
        type_w = [
            ("primary", 42),
            ("secondary", 26),
            ("preschool", 12),
            ("vocational", 12),
            ("other", 8),
        ]
        tkinds, tweights = [t for t, _ in type_w], [w for _, w in type_w]
        for i, country in enumerate(plan):
            kind = self.rng.choices(tkinds, tweights)[0]
            r = self.rng.random()
            extra = {}
            if i < len(codes) * 8 and i % 8 < 6:
                state = "validated"  # every country has validated schools
                kind = ("primary", "secondary", "primary", "preschool", "vocational", "secondary")[
                    i % 8
                ]
            elif r < 0.86 or (kind == "other" and r < 0.97):
                state = "validated"
            elif r < 0.95:
                state = "pending"
                # queue ages on both sides of the 7-day norm
                extra["created_at"] = self.ago(self.rng.choice([0, 1, 2, 4, 6, 8, 10, 15, 25]), 1)
            else:
                state = "rejected"
                extra["rejection_reason"] = self.rng.choice(ORG_REJECTIONS)
            oid = sid("org", i)
            if state == "pending" and registrants.get(country):
                uid = registrants[country].pop()
                extra["registered_by"] = uid
                self.pending_org_of[uid] = oid
            self.organisation(oid, country, kind, state, **extra)
            if state == "rejected":
                staff = self.rng.choice(self.staff[country])
                self.audit(
                    staff,
                    country,
                    "reject",
                    "organisation",
                    oid,
                    extra["rejection_reason"],
                    self.ago(5, 200),
                )
            elif state == "validated" and self.rng.random() < 0.05:
                staff = self.rng.choice(self.staff[country])
                self.audit(staff, country, "approve", "organisation", oid, None, self.ago(5, 400))
        # registrants left without a pending organisation register one of their own
        for country, uids in registrants.items():
            for uid in uids:
                oid = sid("org-registered", uid)
                self.organisation(
                    oid,
                    country,
                    "primary",
                    "pending",
                    registered_by=uid,
                    created_at=self.ago(self.rng.choice([1, 3, 9, 12]), 1),
                )
                self.pending_org_of[uid] = oid

    def make_persona_world_orgs(self) -> None:
        athens = ("Αθήνα", "Αττική")
        self.organisation(
            sid("org", "greek_teacher"),
            "GR",
            "primary",
            "validated",
            name=PERSONA["greek_teacher"]["school"],
            city=athens[0],
            region=athens[1],
            school_number="9050123",
        )
        self.organisation(
            sid("org", "polish_teacher"),
            "PL",
            "primary",
            "validated",
            name=PERSONA["polish_teacher"]["school"],
            city="Łódź",
            region="łódzkie",
            school_number="012345",
        )
        partner = next(e for e in EXTRA_PEOPLE if e["key"] == "polish_partner")
        self.organisation(
            sid("org", "polish_partner"),
            "PL",
            "primary",
            "validated",
            name=partner["school"],
            city="Kraków",
            region="małopolskie",
            school_number="054321",
        )
        self.organisation(
            sid("org", "greek_pending"),
            "GR",
            "primary",
            "pending",
            name="3ο Δημοτικό Σχολείο Περιστερίου",
            city="Περιστέρι",
            region="Αττική",
            created_at=self.ago(9),
        )
        for key in ("greek_teacher", "polish_teacher", "polish_partner"):
            p = PERSONA.get(key) or partner
            self.membership(p["user_id"], sid("org", key), "teacher")

    def make_memberships(self, teachers) -> None:
        roles = ["teacher"] * 14 + [
            "head_teacher",
            "deputy_head",
            "librarian",
            "psychologist",
            "counsellor",
            "special_needs_teacher",
            "ict_coordinator",
        ]
        for uid, country, kind in teachers:
            schools = self.schools[country]
            if kind == "registered_no_org":
                continue
            if kind == "registered_pending_org":
                self.membership(uid, self.pending_org_of[uid], "teacher")
                continue
            school = self.rng.choice(schools)
            if kind == "company_staff":
                self.membership(uid, school, "company_staff")
                continue
            if kind == "stale_link":
                # FAQ problem 1: validated, but the school link went stale
                self.membership(uid, school, "teacher", left=True)
                self.application(uid, country, "approved", self.ago(300))
                continue
            self.membership(uid, school, self.rng.choice(roles))
            if kind == "validated" and self.rng.random() < 0.12:
                other = self.rng.choice(schools)
                if other != school:
                    self.membership(uid, other, "teacher")
            if kind == "validated" or kind == "inactive":
                self.application(
                    uid, country, "approved", self.users[uid]["created"] + timedelta(days=1)
                )
            elif kind == "pending":
                # each country's queue holds items on both sides of the 7-day norm
                k = self.pending_n[country] = self.pending_n.get(country, -1) + 1
                age = (2, 9, 0, 12, 5, 8, 1, 20, 3, 6)[k % 10]
                self.application(uid, country, "pending", self.ago(age, 0.9))
            elif kind == "info_requested":
                self.application(
                    uid,
                    country,
                    "info_requested",
                    self.ago(10, 5),
                    reason="Please add your school's national number to your profile.",
                )
            elif kind == "rejected":
                self.application(
                    uid, country, "rejected", self.ago(30, 200), reason=self.rng.choice(REJECTIONS)
                )

    def available(self) -> list[str]:
        return [
            u
            for u, f in self.users.items()
            if f["state"] == "etwinning_validated"
            and f["available"]
            and f["active"]
            and self.user_schools.get(u)
        ]

    def contact(self, a: str, b: str, state: str, at) -> None:
        key = (min(a, b), max(a, b))
        if a == b or key in self.pairs:
            return
        self.pairs.add(key)
        cid = sid("contact", *key)
        self.w.add(
            Contact,
            {
                "id": cid,
                "requester_id": a,
                "addressee_id": b,
                "state": state,
                "note": self.rng.choice(
                    [
                        "",
                        "Hello! Shall we work on a project together?",
                        "We met at the eTwinning conference.",
                    ]
                ),
                "created_at": at,
                "decided_at": None if state == "pending" else at + timedelta(days=1),
            },
        )
        if state == "accepted":
            self.contacts.setdefault(a, []).append(b)
            self.contacts.setdefault(b, []).append(a)
        elif state == "pending":
            self.notification(
                b,
                "contact_request",
                f"{self.users[a]['name']} wants to add you as a contact.",
                "contact",
                cid,
                at,
            )

    def make_contacts(self) -> None:
        maria = PERSONA["greek_teacher"]["user_id"]
        kasia = PERSONA["polish_teacher"]["user_id"]
        piotr = sid("user", "polish_partner")
        self.contact(maria, kasia, "accepted", self.ago(40))
        self.contact(piotr, maria, "accepted", self.ago(200))
        pool = self.available()
        self.pool = pool
        others = [u for u in pool if u not in (maria, kasia, piotr)]
        greek = [u for u in others if self.users[u]["country"] == "GR"]
        german = [u for u in others if self.users[u]["country"] in ("DE", "IT", "ES")]
        for u in greek[:3] + german[:2]:
            self.contact(maria, u, "accepted", self.ago(10, 300))
        for u in others[-2:]:
            self.contact(u, maria, "pending", self.ago(1, 3))  # requests waiting for Maria
        for u in [x for x in others if self.users[x]["country"] == "PL"][:3]:
            self.contact(kasia, u, "accepted", self.ago(10, 300))
        by_country: dict[str, list[str]] = {}
        for u in pool:
            by_country.setdefault(self.users[u]["country"], []).append(u)
        for a in pool:
            for _ in range(self.rng.randint(1, 4)):
                if self.rng.random() < 0.35:  # a colleague from the same country
                    b = self.rng.choice(by_country[self.users[a]["country"]])
                else:
                    b = self.rng.choice(pool)
                state = self.rng.choices(["accepted", "pending", "declined"], [75, 18, 7])[0]
                self.contact(a, b, state, self.ago(1, 400))

    def make_posts(self) -> None:
        n = max(6, self.n_teachers // 12)
        pool = self.pool
        for i in range(n):
            author = self.rng.choice(pool)
            title, desc = self.rng.choice(L.PROJECT_THEMES)
            age_min = self.rng.choice([4, 6, 8, 10, 12, 14, 16])
            created = self.ago(1, 120)
            expired = i % 4 == 3
            pid = sid("post", i)
            self.w.add(
                PartnerPost,
                {
                    "id": pid,
                    "author_id": author,
                    "title": f"Looking for partners: {title}",
                    "description": desc + " We are looking for one or two partner classes.",
                    "subjects": self.rng.sample(L.SUBJECTS, 2),
                    "languages": ["en", self.rng.choice(["fr", "de", "es", "it", "pl", "el"])],
                    "pupil_age_min": age_min,
                    "pupil_age_max": age_min + 3,
                    "country": self.users[author]["country"],
                    "expires_at": self.ago(1, 30) if expired else self.ago(-65, 60),
                    "hidden": i % 37 == 36,
                    "created_at": created,
                },
            )
            for j in range(self.rng.randint(0, 3)):
                other = self.rng.choice(pool)
                if other != author:
                    self.w.add(
                        PostInterest,
                        {
                            "id": sid("interest", pid, j),
                            "post_id": pid,
                            "user_id": other,
                            "note": "Our class would love to join!",
                            "created_at": created + timedelta(days=1),
                        },
                    )
                    self.notification(
                        author,
                        "post_interest",
                        f"{self.users[other]['name']} is interested in your post “{title}”.",
                        "post",
                        pid,
                        created + timedelta(days=1),
                    )
                    break
            if i % 37 == 36:
                self.w.add(
                    PostReport,
                    {
                        "id": sid("report", pid),
                        "post_id": pid,
                        "user_id": self.rng.choice(pool),
                        "reason": "Advertising, not a project idea.",
                        "created_at": created + timedelta(days=2),
                    },
                )

    STATES = [
        ("awaiting_partner", 15),
        ("awaiting_nso", 20),
        ("approved", 35),
        ("rejected", 8),
        ("declined", 7),
        ("closed", 15),
    ]

    def make_projects(self) -> None:
        maria = PERSONA["greek_teacher"]["user_id"]
        kasia = PERSONA["polish_teacher"]["user_id"]
        piotr = sid("user", "polish_partner")
        self.project(
            sid("project", "running"),
            maria,
            piotr,
            "approved",
            theme=1,
            decided_days=60,
            persona_pupil=True,
        )
        self.project(
            sid("project", "invitation"), maria, kasia, "awaiting_partner", theme=0, created_days=2
        )
        creators = [u for u in self.pool if self.contacts.get(u)]
        states = [s for s, _ in self.STATES]
        weights = [w for _, w in self.STATES]
        gr_pl = [
            u
            for u in creators
            if self.users[u]["country"] == "GR"
            and any(self.users[c]["country"] == "PL" for c in self.contacts[u])
        ]
        for i in range(self.n_projects):
            state = states[i] if i < len(states) else self.rng.choices(states, weights)[0]
            if len(states) <= i < 12 and gr_pl:
                # both NSO personas' queues hold Greek–Polish projects, old and new
                creator = gr_pl[i % len(gr_pl)]
                partner = next(
                    c for c in self.contacts[creator] if self.users[c]["country"] == "PL"
                )
                state = "awaiting_nso"
            else:
                creator = self.rng.choice(creators)
                partner = self.rng.choice(self.contacts[creator])
            if (creator, partner) == (maria, kasia) or {creator, partner} == {maria, kasia}:
                continue  # that pair's invitation is the persona's story
            self.project(
                sid("project", i),
                creator,
                partner,
                state,
                theme=self.rng.randrange(len(L.PROJECT_THEMES)),
            )

    def project(
        self,
        pid,
        creator,
        partner,
        state,
        *,
        theme,
        created_days=None,
        decided_days=None,
        persona_pupil=False,
    ) -> None:
        rng = self.rng
        title, desc = L.PROJECT_THEMES[theme]
        cc, pc = self.users[creator]["country"], self.users[partner]["country"]
        countries = list(dict.fromkeys([cc, pc]))
        created = self.ago(
            created_days if created_days is not None else rng.choice([1, 5, 12, 30, 90, 200, 400]),
            2,
        )
        partner_at = created + timedelta(days=rng.randint(1, 4))
        if partner_at > self.now:
            partner_at = self.now - timedelta(hours=1)
        decided = (
            self.ago(decided_days)
            if decided_days is not None
            else min(partner_at + timedelta(days=rng.randint(2, 12)), self.now - timedelta(hours=2))
        )
        answered = state != "awaiting_partner"
        age_min = rng.choice([6, 8, 10, 12, 14])
        creator_school = self.user_schools[creator][0]
        self.w.add(
            Project,
            {
                "id": pid,
                "title": title,
                "short_description": desc,
                "languages": list(
                    dict.fromkeys(
                        ["en", *[L.LANGUAGE_CODES[L.COUNTRY_DATA[c][0][0]] for c in countries]]
                    )
                ),
                "pupils_count": rng.randint(12, 50),
                "age_min": age_min,
                "age_max": age_min + 2,
                "subjects": rng.sample(L.SUBJECTS, 2),
                "vocational_subjects": [],
                "aims": "Pupils practise a foreign language, learn about their partners' "
                "towns and work together on one joint result.",
                "work_process": "One joint activity a month, online meetings every two weeks, "
                "mixed-nationality teams on the TwinSpace.",
                "expected_results": "A shared e-book, a short video and an exhibition in both schools.",
                "image": None,
                "image_type": None,
                "state": state,
                "scope": "national" if cc == pc else "european",
                "creator_id": creator,
                "creator_school_id": creator_school,
                "partner_id": partner,
                "partner_school_id": self.user_schools[partner][0]
                if answered and state != "declined"
                else None,
                "rejection_reason": "The project plan does not describe pupils' collaboration."
                if state == "rejected"
                else ("We are already in two projects this year." if state == "declined" else None),
                "created_at": created,
                "partner_decided_at": partner_at if answered else None,
                "decided_at": decided if state in ("approved", "rejected", "closed") else None,
                "closed_at": min(decided + timedelta(days=200), self.now - timedelta(hours=1))
                if state == "closed"
                else None,
                "version": 1,
            },
        )
        # one approval per founder country
        rejecting = rng.choice(countries)
        for k, country in enumerate(countries):
            a_state, reason, by, at = "waiting", None, None, None
            queued = partner_at if answered and state != "declined" else None
            if state == "awaiting_nso":
                a_state = "pending"
                if len(countries) == 2 and k == 0 and rng.random() < 0.3:
                    a_state = "approved"
                elif rng.random() < 0.08:
                    a_state, reason = (
                        "info_requested",
                        "Please describe the pupils' joint activities.",
                    )
            elif state in ("approved", "closed"):
                a_state = "approved"
            elif state == "rejected":
                if country == rejecting:
                    a_state, reason = (
                        "rejected",
                        "The project plan does not describe pupils' collaboration.",
                    )
                else:
                    a_state = "approved"
            if a_state in ("approved", "rejected", "info_requested"):
                by = rng.choice(self.staff[country])
                at = decided if state != "awaiting_nso" else partner_at + timedelta(hours=20)
                action = {"approved": "approve", "rejected": "reject"}.get(a_state, "request_info")
                self.audit(by, country, action, "project", pid, reason, at)
            self.w.add(
                ProjectApproval,
                {
                    "id": sid("approval", pid, country),
                    "project_id": pid,
                    "country": country,
                    "state": a_state,
                    "queued_at": queued,
                    "decided_by": by if a_state in ("approved", "rejected") else None,
                    "decided_at": at if a_state in ("approved", "rejected") else None,
                    "reason": reason,
                    "version": 1,
                },
            )
        members = [
            (creator, "teacher_admin", True, "active"),
            (
                partner,
                "teacher_admin",
                True,
                "active" if answered and state != "declined" else "invited",
            ),
        ]
        if state in ("approved", "closed"):
            extra = [u for u in self.contacts.get(creator, []) if u != partner][: rng.randint(0, 3)]
            for j, u in enumerate(extra):
                members.append(
                    (
                        u,
                        ("teacher", "observer", "teacher")[j],
                        False,
                        "invited" if j == 2 else "active",
                    )
                )
        for uid, role, founder, m_state in members:
            self.w.add(
                ProjectMember,
                {
                    "id": sid("member", pid, uid),
                    "project_id": pid,
                    "user_id": uid,
                    "role": role,
                    "founder": founder,
                    "state": m_state,
                    "joined_at": created if uid == creator else partner_at,
                },
            )
        if state == "awaiting_partner":
            self.notification(
                partner,
                "project_invitation",
                f"{self.users[creator]['name']} invites you to co-found the project “{title}”.",
                "project",
                pid,
                created,
            )
        if state in ("approved", "rejected", "closed"):
            for uid in (creator, partner):
                self.notification(
                    uid,
                    "project_decision",
                    f"The project “{title}” was "
                    + (
                        "approved: its TwinSpace is open."
                        if state != "rejected"
                        else "not approved by the NSO."
                    ),
                    "project",
                    pid,
                    decided,
                    read=state == "closed",
                )
        if state in ("approved", "closed"):
            self.twinspace(pid, creator, decided, persona_pupil=persona_pupil)

    def page(self, pid, key, title, parent, position, status, text, author, at) -> str:
        page_id = sid("page", pid, key)
        doc = crdt.new_doc(text, client_id=self.rng.getrandbits(31) + 1)
        update = doc.get_update()
        self.w.add(
            Page,
            {
                "id": page_id,
                "project_id": pid,
                "parent_id": parent,
                "title": title,
                "position": position,
                "status": status,
                "doc": update,
                "created_by": author,
                "created_at": at,
                "updated_at": at,
                "updated_by": author,
                "version": 1,
            },
        )
        self.w.add(
            PageRevision,
            {
                "page_id": page_id,
                "author_kind": "user",
                "author_id": author,
                "author_name": self.users[author]["name"],
                "update": update,
                "summary": f"+{len(text)} characters",
                "at": at,
            },
        )
        return page_id

    def twinspace(self, pid, creator, opened, *, persona_pupil=False) -> None:
        self.page(
            pid,
            "intro",
            "Getting to know each other",
            None,
            0,
            "published",
            INTRO_BODY,
            creator,
            opened,
        )
        plan = self.page(
            pid, "plan", "Activity plan", None, 1, "published", PLAN_BODY, creator, opened
        )
        for k, month in enumerate(L.ACTIVITY_MONTHS[: self.rng.randint(1, 4)]):
            self.page(
                pid,
                f"month{k}",
                f"{month}: joint activity",
                plan,
                k,
                "published" if k == 0 else "draft",
                MONTH_BODY.format(month=month),
                creator,
                opened + timedelta(days=2),
            )
        count = 6 if persona_pupil else self.rng.randint(0, 5)
        for j in range(count):
            if persona_pupil and j == 0:
                p = PERSONA["pupil"]
                username, nick, code_hash, role = (
                    p["username"],
                    p["name"],
                    self.persona_code_hash,
                    "pupil",
                )
                pupil_id = p["pupil_id"]
            else:
                self.pupil_n = getattr(self, "pupil_n", 0) + 1
                username = (
                    f"{self.rng.choice(ADJECTIVES)}-{self.rng.choice(ANIMALS)}-"
                    f"{1000 + self.pupil_n % 9000}-{self.pupil_n // 9000}"
                )
                nick = f"Pupil {j + 1}"
                code_hash = self.rng.choice(self.pupil_code_hashes)
                role = "pupil_admin" if j == 1 else "pupil"
                pupil_id = sid("pupil", pid, j)
            self.w.add(
                Pupil,
                {
                    "id": pupil_id,
                    "project_id": pid,
                    "username": username,
                    "nickname": nick,
                    "code_hash": code_hash,
                    "role": role,
                    "created_by": creator,
                    "created_at": opened + timedelta(days=3),
                    "expires_at": None,
                },
            )

    def make_legacy(self) -> None:
        n = max(6, self.n_teachers // 15)
        legacy = next(e for e in EXTRA_PEOPLE if e["key"] == "legacy_teacher")
        rows = [(legacy["email"], legacy["first_name"], legacy["last_name"], "PL", None)]
        for i in range(n):
            country = self.rng.choice(list(COUNTRIES))
            first, last = self.names.person(country)
            kind = i % 3
            if kind == 0:
                # an EU Login account exists, the platform registration is still to do
                email = self.names.email(first, last)
                self.account(sid("legacy-account", i), email, f"{first} {last}", self.ago(5, 60))
            elif kind == 1:
                email = f"{ascii_slug(first + ' ' + last) or 'teacher'}.old{i}@etwinning.{DOMAIN}"
            else:
                email = None  # already migrated to a platform user
            rows.append((email, first, last, country, i))
        validated = [u for u in self.pool]
        for k, (email, first, last, country, _i) in enumerate(rows):
            migrated_to = None
            if email is None:
                migrated_to = validated[k % len(validated)]
                email = f"migrated{k}@etwinning.{DOMAIN}"
            self.w.add(
                LegacyAccount,
                {
                    "id": sid("legacy", k),
                    "email": email,
                    "platform": "etwinning" if k % 4 else "seg",
                    "first_name": first,
                    "last_name": last,
                    "country": country,
                    "subjects": self.rng.sample(L.SUBJECTS, 2),
                    "languages": ["en"],
                    "description": "eTwinner since 2015; projects about reading and the environment.",
                    "migrated_to": migrated_to,
                    "migrated_at": self.ago(400, 300) if migrated_to else None,
                },
            )


REJECTIONS = [
    "The school you added is not the one where you teach.",
    "Your role at the organisation does not allow eTwinning validation.",
    "We could not confirm that you teach at this school; contact us with a proof.",
]
ORG_REJECTIONS = [
    "This organisation already exists on the platform; add the existing one.",
    "This is not a school; register it as another organisation type.",
]
ADJECTIVES = [
    "blue",
    "brave",
    "calm",
    "clever",
    "green",
    "happy",
    "kind",
    "lucky",
    "quick",
    "sunny",
]
ANIMALS = ["otter", "fox", "owl", "lynx", "hare", "robin", "seal", "wolf", "wren", "yak"]

INTRO_BODY = """# Getting to know each other

Hello from both our classes! Each pupil wrote a short introduction: a nickname, hobbies and a
favourite book or game.

## Our classes
- Athens: 24 pupils aged 9-10, who love football and drawing.
- Our partners: 22 pupils aged 9-10, who love music and science.
"""
PLAN_BODY = """# Activity plan

One joint activity a month. Each page below is one month: plan it together, then publish it
when the pupils start.
"""
MONTH_BODY = """# {month}: joint activity

## Aim
- Pupils exchange what they found out and make one shared result.

## What the pupils do
- Before: each class collects ideas.
- Together: an online meeting and a mixed-team task.
- Afterwards: pupils write a short reflection.
"""


# --- entry point -------------------------------------------------------------------------------


def already_seeded(engine: Engine) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(Account.id).where(Account.email == PERSONA["greek_teacher"]["email"])
            ).first()
            is not None
        )


def seed_world(engine: Engine, schools: int | None = None) -> dict[str, int]:
    """Write the demo world: ``schools`` organisations (default: the demo size, about 2,000
    organisations and 600 teachers), with teachers, projects and the rest in proportion. Every
    country keeps at least eight organisations, so the smallest world has about 370.

    Returns the rows written per table, plus ``seconds``. On a database that is already
    seeded it writes nothing and returns ``{}``."""
    if already_seeded(engine):
        return {}
    started = time.perf_counter()
    with engine.begin() as conn:
        writer = Writer(conn)
        World(writer, schools).build()
    counts = dict(writer.counts)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts
