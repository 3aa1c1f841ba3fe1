"""The change feed: what an offline client must re-fetch since its cursor.

Every write that changes something a user may cache calls :func:`record`, naming the audiences
that can see it (``user:<id>``, ``project:<id>``, ``nso:<country>``). The feed endpoint returns,
for a principal's audiences, each changed entity once with its current representation, as
produced by the serializer registered for that entity kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session as DbSession

from reference_backend.tables import Change

if TYPE_CHECKING:
    from reference_backend.deps import Principal

# entity kind -> fn(db, principal, entity_id) -> dict | None (None: not visible / gone)
Serializer = Callable[[DbSession, "Principal", str], dict | None]
SERIALIZERS: dict[str, Serializer] = {}


def serializer(entity: str) -> Callable[[Serializer], Serializer]:
    """Register how an entity kind appears in the feed (its wire model, as a dict)."""

    def register(fn: Serializer) -> Serializer:
        SERIALIZERS[entity] = fn
        return fn

    return register


def record(
    db: DbSession, audiences: Iterable[str], entity: str, entity_id: str, op: str = "upsert"
) -> None:
    for audience in dict.fromkeys(audiences):
        db.add(Change(audience=audience, entity=entity, entity_id=entity_id, op=op))


def user(user_id: str) -> str:
    return f"user:{user_id}"


def project(project_id: str) -> str:
    return f"project:{project_id}"


def nso(country: str) -> str:
    return f"nso:{country}"
