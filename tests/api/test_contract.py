"""The API against its own schema: Schemathesis on the live application, every operation.

Each operation of /api/v1/openapi.json is a test of its own, run on a fresh copy of the
small world (the ``server`` fixture), so what one operation writes never spoils another's
examples. Requests and bodies are generated from the schema, valid and invalid alike, a
bounded and fixed number per operation (deterministic, no shrinking: the same cases on
every run), each sent with the token of an admin (who sees everything) and then of a
village cadre (who sees one village); every answer must be no 5xx, a documented status,
with a documented content type and a body the schema describes.

The schema is built from ``create_api`` at collection (so the operations other routers add
are tested as they land) and must be the one the live application serves.

Deeper local runs: ``TUOPIN_CONTRACT_EXAMPLES=200`` (examples per operation),
``TUOPIN_CONTRACT_COVERAGE=1`` (Schemathesis' boundary values too),
``TUOPIN_CONTRACT_SEED=7`` (other cases).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import sessionmaker

from api.conftest import token_for
from tuopin.api.app import create_api
from web.personas import (
    COUNTY,
    MINE,
    OTHER_VILLAGE,
    OTHERS,
    OUTSIDE,
    P_COUNTY,
    P_VILLAGE,
    VILLAGE,
    settings_for,
)

EXAMPLES = int(os.environ.get("TUOPIN_CONTRACT_EXAMPLES", "15"))
COVERAGE = os.environ.get("TUOPIN_CONTRACT_COVERAGE", "") == "1"
SEED = int(os.environ.get("TUOPIN_CONTRACT_SEED", "13"))
SCHEMA_PATH = "/api/v1/openapi.json"
BASE_URL = "http://testserver/api"  # the schema's paths start at /v1
PERSONAS = ("admin", "village_cadre")
COVERED: set[tuple[str, str]] = set()  # no persona tables here: see test_coverage.py
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def built_schema() -> dict[str, Any]:
    """The API's schema as create_api builds it (no store is touched to build it)."""
    api = create_api(settings_for("sqlite://"), sessions=sessionmaker(),
                     readers=sessionmaker())
    return api.openapi()


# Values of the small world drawn for half of the parameters that name a record, so that
# the cases reach the records (200s, 412s, 409s...) and not only 404s; the other half stay
# random. Each drawn from Hypothesis: the same cases on every run.
WORLD: dict[str, list[str | int]] = {
    "path.number": [MINE[0], MINE[1], OTHERS[0], OUTSIDE[0], P_VILLAGE, P_COUNTY],
    "path.member_id": [1, 2, 7, 11],
    "path.year": [2019],
    "path.run_id": [1],
    "path.username": ["village-cadre", "county-officer", "helper"],
    "query.region": [VILLAGE, OTHER_VILLAGE, COUNTY],
    "query.household": [MINE[0], OTHERS[0]],
    "header.If-Match": ['"1"', '"new"'],
}
RAW = built_schema()
schema = schemathesis.openapi.from_dict(RAW, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "dictionaries": {key: {"values": values} for key, values in WORLD.items()},
    "parameters": {key: {"dictionary": key, "probability": 0.5} for key in WORLD},
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "no-shrink": True,
                   "database": "none", "mode": "all", "with-security-parameters": False},
    "phases": {"coverage": {"enabled": COVERAGE}},
}))


@pytest.fixture
def live(server: FastAPI) -> Iterator[ASGIClient]:
    """Requests straight into the running application, in Schemathesis' own transport (not
    entered: the lifespan is the ``server`` fixture's, started once)."""
    client = ASGIClient(cast(Any, server))
    yield client
    client.close()


@pytest.fixture
def bearers(server: FastAPI, personas: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {p: {"Authorization": f"Bearer {token_for(server, p)}"} for p in personas}


def test_the_live_schema_is_the_one_tested(server: FastAPI) -> None:
    served = TestClient(server).get(SCHEMA_PATH)  # (the fixture runs the lifespan)
    assert served.status_code == 200
    body = served.json()
    assert body.pop("servers", None) == [{"url": "/api"}]  # the mount; BASE_URL holds it
    assert body == RAW


# (one parameter set, named: it gives each operation's test an id of its own - the operation
# in it - without which xdist's --dist loadgroup runs one of them only)
@pytest.mark.parametrize("personas", [PERSONAS], ids=["+".join(PERSONAS)])
@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))  # `server` is fresh per operation, not per case
def test_operation(case: Any, live: ASGIClient, bearers: dict[str, dict[str, str]],
                   personas: tuple[str, ...]) -> None:
    for persona, headers in bearers.items():
        try:
            case.call_and_validate(session=live, base_url=BASE_URL, headers=headers,
                                   checks=CHECKS)
        except Exception as failed:
            failed.add_note(f"(with the token of {persona})")
            raise
