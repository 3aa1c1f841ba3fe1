"""The deterministic demo world: ``seed_world(engine, schools=None)`` and the named personas.

See docs/personas.md for the personas' credentials and what each one shows.
"""

from reference_backend.seed.world import (
    DEMO_PASSWORD,
    EXTRA_PEOPLE,
    PERSONA,
    PERSONAS,
    PUPIL_CODE,
    already_seeded,
    new_trainee_email,
    seed_world,
)

__all__ = [
    "DEMO_PASSWORD",
    "EXTRA_PEOPLE",
    "PERSONA",
    "PERSONAS",
    "PUPIL_CODE",
    "already_seeded",
    "new_trainee_email",
    "seed_world",
]
