"""API fuzzing: schemathesis against the whole OpenAPI document, in-process, every phase.

The run is the same engine ``schemathesis run`` uses (examples, coverage, fuzzing, stateful
chaining through ``Location`` headers), on a SQLite file seeded with a small world, once
signed in as a teacher and once as an NSO staff member. Deterministic: fixed seed, no
database of past examples. Every finding it made has a regression test further down.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events
from schemathesis.engine import from_schema as engine_for
from starlette.testclient import TestClient

from reference_backend.app import create_app
from tests.fuzz_support import build_world

REQUIRED_CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "ignored_auth",
    "negative_data_rejection",
    "use_after_free",
)
EXAMPLES_PER_OPERATION = 100
STATEFUL_SCENARIOS = 100
SEED = 20261204


def fuzz_config(token: str) -> SchemathesisConfig:
    checks = {name: {"enabled": True} for name in REQUIRED_CHECKS}
    checks["enabled"] = False  # only the required checks, each enabled by name
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
            },
            "checks": checks,
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {
                    "enabled": True,
                    "max-steps": 8,
                    "generation": {"max-examples": STATEFUL_SCENARIOS},
                    "inference": {"algorithms": ["location-headers", "dependency-analysis"]},
                },
            },
        }
    )


def run_schemathesis(app, token: str) -> tuple[list[str], dict]:
    """Run every phase; answer the failures (one line each) and what ran."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(token))
    # signing out would revoke the one session the whole run uses (tests/test_auth.py and the
    # authorization matrix cover it)
    schema = schema.exclude(method="DELETE", path="/eulogin/sessions/current")
    failures: list[str] = []
    stats = {"scenarios": 0, "cases": 0, "phases": set(), "errors": [], "2xx": 0}
    for event in engine_for(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            stats["scenarios"] += 1
            stats["phases"].add(str(event.phase))
            stats["cases"] += len(event.recorder.cases)
            stats["2xx"] += sum(
                1
                for i in event.recorder.interactions.values()
                if i.response is not None and 200 <= i.response.status_code < 300
            )
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    if node.status == Status.FAILURE:
                        case = event.recorder.cases[case_id].value
                        failures.append(
                            f"{node.name} [{event.phase}] {case.method} {case.formatted_path}: "
                            f"{node.failure_info.failure.title if node.failure_info else ''}"
                        )
        elif isinstance(event, events.NonFatalError):
            stats["errors"].append(f"{event.label}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    return failures, stats


@pytest.mark.slow
@pytest.mark.parametrize("who", ["teacher", "nso"])
def test_schemathesis_finds_nothing(tmp_path, who):
    app = create_app(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}")
    with TestClient(app) as client:
        world = build_world(app, client)
    persona = world.owner if who == "teacher" else world.gr_nso
    started = time.monotonic()
    failures, stats = run_schemathesis(app, persona.token)
    elapsed = time.monotonic() - started
    print(
        f"schemathesis[{who}]: {stats['scenarios']} scenarios, {stats['cases']} cases, "
        f"{stats['2xx']} answered 2xx, phases {sorted(stats['phases'])}, {elapsed:.1f}s"
    )
    with TestClient(app) as client:
        still_signed_in = client.get("/eulogin/me", headers=persona.headers).status_code
    app.state.engine.dispose()
    # the run really was signed in: the session survived and many calls succeeded
    assert still_signed_in == 200
    assert stats["2xx"] > 500
    assert {"examples", "coverage", "fuzzing", "stateful"} <= stats["phases"]
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} distinct failures:\n" + "\n".join(unique[:60])
    assert not stats["errors"], "\n".join(stats["errors"][:20])


# --- regressions for what the fuzzer found ------------------------------------------------------


@pytest.fixture
def nso_audit(client):
    from tests.factories import make_staff

    return client, make_staff(client.app, "GR")


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-01", "yesterday"])
def test_audit_dates_must_be_iso_date_times(nso_audit, value):
    """Found by negative_data_rejection: ``until=0.5`` was read as Unix time and answered 200."""
    client, staff = nso_audit
    for name in ("since", "until"):
        r = client.get("/nso/audit", params={name: value}, headers=staff.headers)
        assert r.status_code == 422, (name, value, r.text)
        assert r.json()["code"] == "invalid" and r.json()["field"] == name


def test_audit_accepts_iso_date_times(nso_audit):
    client, staff = nso_audit
    r = client.get(
        "/nso/audit",
        params={"since": "2026-01-01T00:00:00Z", "until": "2030-01-01T00:00:00+01:00"},
        headers=staff.headers,
    )
    assert r.status_code == 200, r.text


def test_operations_needing_a_session_declare_bearer_auth(client):
    """``ignored_auth`` only tests what the document declares: every operation but the public
    ones declares the bearer scheme, and none of those answers 2xx without a session."""
    from tests.authz_matrix import PUBLIC

    spec = client.app.openapi()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            key = f"{method.upper()} {path}"
            assert ("security" in op) == (key not in PUBLIC), key
