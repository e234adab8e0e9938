"""The verification pages with every persona: the plans of a region, a plan, the verifier's
village list and one household's finding form, the county page's rates and exit check.

The world (built once for the module on top of the web tests' registry): more households in
both villages of the county (exited, ordinary, poor) and in the outside county, and plans
taken through the services: OPEN (a third-party evaluation released to the verifiers, the
other village's findings recorded), SPOT (a spot check drawn, not yet released), CLOSED (a
third-party evaluation closed with every finding) and OUTSIDE (of the other county).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from factories import COUNTY, OTHER_VILLAGE, VILLAGE, operator
from tuopin.domain import idnumber
from tuopin.domain.enums import Role
from tuopin.domain.verification import VerificationKind
from tuopin.services.access import users
from tuopin.services.verification import draws, findings, plans
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import AuditEventRecord, HouseholdRecord, MemberRecord, table_of
from tuopin.web.app import create_app
from web.personas import (
    CHEAP,
    OUTSIDE_COUNTY,
    OUTSIDE_VILLAGE,
    PASSWORD,
    TODAY_,
    TOWNSHIP,
    csrf_of,
    settings_for,
)

Clients = Callable[[str | None], TestClient]
YEAR = 2025
DRAWN_ON, RELEASED_ON, CLOSED_ON = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 20)
VISITED_ON = "2026-11-10"
SIZES = {"exited": 4, "unregistered": 4, "registered": 2}
# every extra household: (village, first number, how many)
EXTRA = ((VILLAGE, 4, 10), (OTHER_VILLAGE, 3, 10), (OUTSIDE_VILLAGE, 2, 8))
# accounts besides the personas: a township officer of VILLAGE's township, and a verifier
# of the other county
MORE_ACCOUNTS = {"township": (Role.TOWNSHIP_OFFICER, TOWNSHIP + "000"),
                 "outside_verifier": (Role.VERIFIER, OUTSIDE_COUNTY)}


@dataclass(frozen=True)
class World:
    open: int
    spot: int
    closed: int
    outside: int


def _status(i: int) -> tuple[str, int | None]:
    return (("exited", 2019), ("ordinary", None), ("poor", None))[i % 3]


def _households(engine: Engine) -> None:
    """The extra households, each with a head (ID numbers of 1975: none of the personas')."""
    homes, heads = [], []
    for village, first, count in EXTRA:
        for i in range(first, first + count):
            status, exited = _status(i)
            homes.append({"number": f"{village}{i:04d}", "village_code": village,
                          "status": status, "year_exited": exited, "address": f"{i}组",
                          "version": 1})
    with engine.begin() as conn:
        conn.execute(insert(table_of(HouseholdRecord)), homes)
        ids: dict[str, int] = dict(conn.execute(  # type: ignore[arg-type]
            select(HouseholdRecord.number, HouseholdRecord.id)).all())
        for n, home in enumerate(homes):
            county = str(home["village_code"])[:6]
            heads.append({"household_id": ids[home["number"]], "name": f"验户{n}",
                          "id_number": idnumber.compose(county, date(1975, 1 + n // 28,
                                                                     1 + n % 28), 31),
                          "sex": "male", "birth_date": date(1975, 1 + n // 28, 1 + n % 28),
                          "relation": "head", "version": 1})
        conn.execute(insert(table_of(MemberRecord)), heads)


def truth_of(number: str) -> dict[str, str]:
    """What a verifier finds at ``number``: an exited household with an even number is
    wrongly exited; every household approves but those whose number is a multiple of 5."""
    i = int(number[-4:])
    status, _ = _status(i)
    wrong = status == "exited" and i % 2 == 0
    return {"visited": "1", "visited_on": VISITED_ON, "household_size": str(1 + i % 4),
            "wage_income": "1500" if wrong else "12000", "food_secure": "1",
            "clothing_secure": "1", "schooling_secure": "1", "medical_secure": "1",
            "housing_grade": "C" if wrong else "A",
            "judgement": "wrongly_exited" if wrong else "correct",
            "approval": "0" if i % 5 == 0 else "1"}


def record_all(db: Session, plan_id: int, village: str | None = None) -> None:
    """Record the truth at every household of ``plan_id`` (only ``village``'s if given)."""
    who = operator("t")
    for row in findings.sample_rows(db, principal=who, plan_id=plan_id, village=village):
        findings.record_finding(db, principal=who, plan_id=plan_id,
                                number=row["household_number"],
                                values=truth_of(row["household_number"]), today=TODAY_)


def _plan(db: Session, county: str, kind: VerificationKind, seed: int, *,
          release: bool = True) -> int:
    who = operator("t")
    made = plans.plan(db, principal=who, region=county, year=YEAR, kind=kind, seed=seed,
                      as_of=DRAWN_ON, sizes=SIZES)
    draws.draw(db, principal=who, plan_id=made["plan"], as_of=DRAWN_ON)
    if release:
        plans.release(db, principal=who, plan_id=made["plan"], as_of=RELEASED_ON)
    return int(made["plan"])


def build_world(url: str) -> World:
    engine = make_engine(url)
    _households(engine)
    with session_factory(engine)() as db, db.begin():
        for name, (role, region) in MORE_ACCOUNTS.items():
            users.add(db, principal=operator(), username=name.replace("_", "-"), role=role,
                      region_code=region, password=PASSWORD, hasher=CHEAP)
        closed = _plan(db, COUNTY, VerificationKind.THIRD_PARTY, 11)
        record_all(db, closed)
        plans.close(db, principal=operator("t"), plan_id=closed, as_of=CLOSED_ON)
        spot = _plan(db, COUNTY, VerificationKind.SPOT_CHECK, 12, release=False)
        outside = _plan(db, OUTSIDE_COUNTY, VerificationKind.THIRD_PARTY, 13)
        opened = _plan(db, COUNTY, VerificationKind.THIRD_PARTY, 14)
        record_all(db, opened, OTHER_VILLAGE)
    engine.dispose()
    return World(open=opened, spot=spot, closed=closed, outside=outside)


@pytest.fixture(scope="module")
def world_template(web_template: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[Path, World]:
    path = tmp_path_factory.mktemp("verification") / "tuopin.db"
    shutil.copy(web_template, path)
    return path, build_world(f"sqlite:///{path}")


@pytest.fixture
def world(world_template: tuple[Path, World]) -> World:
    return world_template[1]


@pytest.fixture
def web_url(world_template: tuple[Path, World], tmp_path: Path) -> str:
    path = tmp_path / "tuopin.db"
    shutil.copy(world_template[0], path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(settings_for(web_url, data_dir=tmp_path / "data"), hasher=CHEAP,
                     today=lambda: TODAY_)
    with TestClient(app):
        yield app


# -- who gets in ---------------------------------------------------------------------------

ALL = ("county_officer", "village_cadre", "other_cadre", "outsider", "helper", "auditor",
       "verifier", "admin", "township", "outside_verifier")
OPEN, SPOT, CLOSED, OUTSIDE = 4, 2, 1, 3  # the plans' ids, in the order build_world makes them
COUNTY_CODE = COUNTY.ljust(12, "0")
BELOW = ("village_cadre", "other_cadre", "township")
STRANGERS = ("outsider", "outside_verifier")


def expect(default: int, **special: int) -> dict[str | None, int]:
    table: dict[str | None, int] = dict.fromkeys(ALL, default)
    table.update(special)
    table["helper"] = table.get("helper", 403) if "helper" in special else 403
    table[None] = 303  # anonymous: to the login page
    return table


def some(status: int, *personas: str) -> dict[str, int]:
    return dict.fromkeys(personas, status)


# {home}: a household of VILLAGE in OPEN's sample (found at run time)
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/verification", None, expect(200)),
    ("GET", "/verification/new", None,
     expect(403, county_officer=200, admin=200, outsider=200)),
    ("GET", f"/verification/{OPEN}", None, expect(200, **some(404, *STRANGERS))),
    ("GET", f"/verification/{SPOT}", None,
     expect(404, county_officer=200, admin=200, auditor=200)),
    ("GET", f"/verification/{CLOSED}", None, expect(200, **some(404, *STRANGERS))),
    ("GET", f"/verification/{OUTSIDE}", None,
     expect(404, admin=200, outsider=200, outside_verifier=200)),
    ("GET", f"/verification/{OPEN}/villages/{VILLAGE}", None,
     expect(404, county_officer=200, admin=200, auditor=200, verifier=200)),
    ("GET", f"/verification/{CLOSED}/villages/{VILLAGE}", None,
     expect(200, other_cadre=404, **some(404, *STRANGERS))),
    ("GET", f"/verification/{OPEN}/households/{{home}}", None,
     expect(404, county_officer=200, admin=200, auditor=200, verifier=200)),
    ("POST", f"/verification/{OPEN}/households/{{home}}", truth_of("0000"),
     expect(404, admin=303, verifier=303, county_officer=403, auditor=403)),
    ("GET", f"/verification/{OPEN}/fieldlists/{VILLAGE}.xlsx", None,
     expect(404, county_officer=200, admin=200, auditor=200, verifier=200)),
    ("GET", f"/verification/{SPOT}/sample.csv", None,
     expect(404, county_officer=200, admin=200, auditor=200)),
    ("POST", f"/verification/{SPOT}/release", {},
     expect(403, county_officer=303, admin=303, outsider=404)),
    ("POST", f"/verification/{OPEN}/close", {},
     expect(403, verifier=303, admin=303, outside_verifier=404)),
    ("GET", f"/verification/county/{COUNTY_CODE}", None,
     expect(200, **some(403, *BELOW, *STRANGERS))),
]


def home_of(app: FastAPI, plan: int = OPEN, village: str = VILLAGE, index: int = 0) -> str:
    with app.state.web.sessions() as db:
        rows = findings.sample_rows(db, principal=operator(), plan_id=plan, village=village)
    return str(rows[index]["household_number"])


@pytest.mark.parametrize("persona", [*ALL, None], ids=[*ALL, "anonymous"])
def test_each_persona_gets_what_its_role_and_region_allow(
        app: FastAPI, world: World, client_for: Clients, persona: str | None) -> None:
    """Every route in turn, with one browser per persona (the changes come last: the
    finding, then the release and the close, none of which the others depend on)."""
    assert (world.open, world.spot, world.closed, world.outside) == (OPEN, SPOT, CLOSED,
                                                                      OUTSIDE)
    client = client_for(persona)
    token = csrf_of(client)
    home = home_of(app)
    wrong = []
    for method, path, form, table in ROUTES:
        path = path.format(home=home)
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={**(form or {}), "csrf_token": token})
        if response.status_code != table[persona]:
            wrong.append((method, path, response.status_code, table[persona]))
    assert wrong == []


# -- what each sees ------------------------------------------------------------------------

def plans_listed(client: TestClient) -> list[int]:
    return [int(n) for n in re.findall(r'data-plan="(\d+)"', client.get("/verification").text)]


def test_a_spot_check_is_unknown_below_the_county_until_it_is_released(
        app: FastAPI, client_for: Clients) -> None:
    verifier, cadre, county = (client_for(p) for p in ("verifier", "village_cadre",
                                                      "county_officer"))
    assert SPOT in plans_listed(county)
    assert SPOT not in plans_listed(verifier) and SPOT not in plans_listed(cadre)
    assert verifier.get(f"/verification/{SPOT}/sample.csv").status_code == 404
    page = county.get(f"/verification/{SPOT}").text
    assert 'id="release"' in page and 'id="close"' not in page
    released = county.post(f"/verification/{SPOT}/release",
                           data={"csrf_token": csrf_of(county), "version": "2"})
    assert released.status_code == 303
    assert SPOT in plans_listed(verifier) and SPOT not in plans_listed(cadre)
    page = verifier.get(f"/verification/{SPOT}").text
    assert 'id="progress"' in page and f"/verification/{SPOT}/villages/{VILLAGE}" in page
    assert verifier.get(f"/verification/{SPOT}/villages/{VILLAGE}").status_code == 200


def test_a_verifier_of_another_county_sees_nothing_of_this_one(
        app: FastAPI, client_for: Clients) -> None:
    outside = client_for("outside_verifier")
    assert plans_listed(outside) == [OUTSIDE]
    home = home_of(app)
    for path in (f"/verification/{OPEN}", f"/verification/{CLOSED}/villages/{VILLAGE}",
                 f"/verification/{OPEN}/households/{home}", f"/verification/{CLOSED}/sample.csv"):
        response = outside.get(path)
        assert response.status_code == 404, path
        assert home not in response.text.split("<main>")[1], path
    assert outside.get(f"/verification/{OUTSIDE}/villages/{OUTSIDE_VILLAGE}").status_code == 200
    assert 'href="/verification"' in outside.get("/").text


def test_below_the_county_an_evaluation_shows_its_plan_and_its_list_only_once_closed(
        app: FastAPI, client_for: Clients) -> None:
    cadre = client_for("village_cadre")
    page = cadre.get(f"/verification/{OPEN}").text
    assert 'id="plan-facts"' in page and 'id="progress"' not in page
    assert VILLAGE + "00" not in page  # no household number
    assert 'id="seed"' not in page and "14" not in re.findall(r'class="secret">(\d+)<', page)
    closed = cadre.get(f"/verification/{CLOSED}").text
    assert 'id="plan-estimates"' in closed and f"/villages/{VILLAGE}" in closed
    assert f"/villages/{OTHER_VILLAGE}" not in closed  # only the cadre's own village
    listed = cadre.get(f"/verification/{CLOSED}/villages/{VILLAGE}").text
    assert listed.count('data-finding="visited"') == 5
    assert 'id="save"' not in cadre.get(f"/verification/{CLOSED}/households/"
                                        f"{home_of(app, CLOSED)}").text


def test_nobody_without_the_role_is_offered_the_pages(client_for: Clients) -> None:
    assert 'href="/verification"' not in client_for("helper").get("/").text
    assert 'href="/verification"' in client_for("verifier").get("/").text


# -- the verifier's work -----------------------------------------------------------------

def finding(app: FastAPI, number: str, plan: int = OPEN) -> dict[str, object]:
    with app.state.web.sessions() as db:
        rows = findings.sample_rows(db, principal=operator(), plan_id=plan)
    return next(r for r in rows if r["household_number"] == number)


def post_finding(client: TestClient, number: str, values: dict[str, str],
                 version: str = "0", plan: int = OPEN) -> Response:
    return client.post(f"/verification/{plan}/households/{number}",
                       data={**values, "version": version, "csrf_token": csrf_of(client)})


def test_the_verifier_records_a_visit_and_a_household_not_found_at_home(
        app: FastAPI, client_for: Clients) -> None:
    verifier = client_for("verifier")
    first, second = home_of(app, index=0), home_of(app, index=1)
    form = verifier.get(f"/verification/{OPEN}/households/{first}").text
    assert 'id="finding-form"' in form and 'name="version" value="0"' in form
    assert f'value="{TODAY_.isoformat()}"' in form  # the visit is dated today unless changed
    assert 'value="missed_poor"' not in form  # an exited household cannot be missed poor
    saved = post_finding(verifier, first, truth_of(first))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/verification/{OPEN}/villages/{VILLAGE}#h-{first}"
    listed = verifier.get(saved.headers["location"]).text
    assert f'data-household="{first}" data-finding="visited"' in listed
    # not at home: the reason; what the form hid is not sent on
    absent = post_finding(verifier, second, {**truth_of(second), "visited": "0",
                                              "not_visited_reason": "absent"})
    assert absent.status_code == 303
    stored = finding(app, second)
    assert (stored["visited"], stored["not_visited_reason"], stored["wage_income"],
            stored["judgement"]) == (False, "absent", None, None)
    assert finding(app, first)["judgement"] == truth_of(first)["judgement"]
    page = verifier.get(f"/verification/{OPEN}").text
    row = re.search(rf'data-village="{VILLAGE}".*?</tr>', page, re.S)
    assert row and '<td class="num recorded">2</td>' in row.group(0)


def test_a_refused_finding_comes_back_with_each_problem_next_to_its_field(
        app: FastAPI, client_for: Clients) -> None:
    verifier = client_for("verifier")
    number = home_of(app)
    values = {**truth_of(number), "judgement": "", "household_size": "x"}
    refused = post_finding(verifier, number, values)
    assert refused.status_code == 400
    assert 'id="error-judgement"' in refused.text and 'id="error-household_size"' in refused.text
    assert f'value="{values["wage_income"]}"' in refused.text  # what was typed stays
    wrong_frame = post_finding(verifier, number, {**truth_of(number), "judgement": "missed_poor"})
    assert wrong_frame.status_code == 400 and 'id="error-judgement"' in wrong_frame.text
    assert finding(app, number)["visited"] is None


def test_a_stale_finding_form_gets_the_conflict_page(app: FastAPI,
                                                     client_for: Clients) -> None:
    verifier, admin = client_for("verifier"), client_for("admin")
    number = home_of(app)
    assert post_finding(admin, number, truth_of(number)).status_code == 303
    stale = post_finding(verifier, number, {**truth_of(number), "approval": "0"})
    assert stale.status_code == 409 and 'id="conflict"' in stale.text
    assert f"/verification/{OPEN}/households/{number}" in stale.text
    current = verifier.get(f"/verification/{OPEN}/households/{number}").text
    assert 'name="version" value="1"' in current
    assert post_finding(verifier, number, {**truth_of(number), "approval": "0"},
                        version="1").status_code == 303
    assert finding(app, number)["approval"] is False


def test_findings_are_read_only_once_the_plan_is_closed(app: FastAPI,
                                                        client_for: Clients) -> None:
    verifier = client_for("verifier")
    number = home_of(app, CLOSED)
    page = verifier.get(f"/verification/{CLOSED}/households/{number}").text
    assert 'id="finding-form"' not in page and 'id="read-only"' in page
    assert 'id="shown-judgement"' in page
    refused = post_finding(verifier, number, {**truth_of(number), "approval": "0"},
                           version="1", plan=CLOSED)
    assert refused.status_code == 400
    assert finding(app, number, CLOSED)["approval"] == (truth_of(number)["approval"] == "1")
    plan = verifier.get(f"/verification/{CLOSED}").text
    assert 'id="findings-upload"' not in plan and 'id="close"' not in plan


def test_the_verifier_closes_the_plan_and_the_figures_count(app: FastAPI,
                                                            client_for: Clients) -> None:
    verifier, county = client_for("verifier"), client_for("county_officer")
    assert 'id="close"' not in county.get(f"/verification/{OPEN}").text
    page = verifier.get(f"/verification/{OPEN}").text
    assert 'id="close"' in page and 'id="findings-upload"' in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    stale = verifier.post(f"/verification/{OPEN}/close",
                          data={"csrf_token": csrf_of(verifier), "version": "1"})
    assert stale.status_code == 409
    closed = verifier.post(f"/verification/{OPEN}/close",
                           data={"csrf_token": csrf_of(verifier), "version": version.group(1)})
    assert closed.status_code == 303
    section = county.get(f"/verification/county/{COUNTY_CODE}").text
    assert f'data-plan="{OPEN}"' in section  # the latest closed plan, named


# -- the county's figures ------------------------------------------------------------------

def test_a_closed_plan_shows_its_rates_with_intervals_and_verdicts(
        client_for: Clients) -> None:
    page = client_for("auditor").get(f"/verification/{CLOSED}").text
    table = re.search(r'<table id="plan-estimates".*?</table>', page, re.S)
    assert table
    rows = re.findall(r'data-measure="(\w+)" data-verdict="(\w+)"', table.group(0))
    assert [m for m, _ in rows] == ["wrong_exit_rate", "missed_rate", "approval_rate",
                                    "composite_incidence"]
    assert all(v in ("pass", "fail", "undecided") for _, v in rows)
    assert len(re.findall(r'class="interval">\d+\.\d\d% – \d+\.\d\d%<', table.group(0))) == 4


def test_the_county_page_shows_the_latest_closed_plan_and_the_exit_check_using_it(
        client_for: Clients) -> None:
    county = client_for("county_officer")
    tree = county.get("/regions").text
    assert f'hx-get="/verification/county/{COUNTY_CODE}"' in tree
    assert "hx-get=\"/verification/county" not in client_for("village_cadre").get("/regions").text
    section = county.get(f"/verification/county/{COUNTY_CODE}",
                         headers={"HX-Request": "true"}).text
    assert "<html" not in section
    assert f'data-plan="{CLOSED}"' in section and 'id="county-estimates"' in section
    check = re.search(r'<table id="exit-check".*?</table>', section, re.S)
    assert check
    for criterion in ("wrong_exit_rate", "missed_rate", "approval_rate"):
        row = re.search(rf'data-criterion="{criterion}".*?</tr>', check.group(0), re.S)
        assert row and f'href="/verification/{CLOSED}"' in row.group(0), criterion
        assert re.search(r"\d+\.\d\d% – \d+\.\d\d%", row.group(0)), criterion
    assert 'id="exit-verdict"' in section


# -- planning, drawing, field lists ----------------------------------------------------------

def test_a_county_officer_plans_and_draws_a_sample(app: FastAPI, client_for: Clients) -> None:
    county = client_for("county_officer")
    form = county.get("/verification/new").text
    assert 'name="region" id="f-region" value="621121"' in form
    token = csrf_of(county)
    plan = {"region": "621121", "year": "2025", "kind": "third_party", "seed": "",
            "villages": "2", "csrf_token": token}
    refused = county.post("/verification/new", data=plan)
    assert refused.status_code == 400 and 'id="error-seed"' in refused.text
    made = county.post("/verification/new", data={**plan, "seed": "20251120"})
    assert made.status_code == 303
    path = made.headers["location"]
    page = county.get(path).text
    assert 'data-state="planned"' in page and 'id="draw"' in page
    drawn = county.post(f"{path}/draw", data={"csrf_token": token})
    assert drawn.status_code == 303
    page = county.get(path).text
    assert 'data-state="drawn"' in page and 'id="release"' in page
    assert 'id="design"' in page and 'id="strata"' in page and "20251120" in page


def fill_field_list(body: bytes, *, spoil: bool = False) -> bytes:
    """A field list (CSV) filled with the truth; ``spoil``: the first row's visit made up."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    names = {spec.header(lang): spec.name for spec in findings.FIELDS for lang in ("zh", "en")}
    columns = [names.get(h) for h in rows[0]]
    number_at = columns.index("household_number")
    out = [rows[0]]
    for row in rows[1:]:
        values = truth_of(row[number_at])
        out.append([values.get(c, cell) if c else cell
                    for c, cell in zip(columns, row, strict=True)])
    if spoil:
        out[1][columns.index("visited")] = "maybe"
    text = io.StringIO()
    csv.writer(text).writerows(out)
    return text.getvalue().encode("utf-8")


def test_a_filled_field_list_is_uploaded_all_or_nothing(app: FastAPI,
                                                        client_for: Clients) -> None:
    verifier = client_for("verifier")
    listed = verifier.get(f"/verification/{OPEN}/fieldlists/{VILLAGE}.csv")
    assert listed.status_code == 200
    assert listed.headers["content-disposition"].endswith(f'plan{OPEN}_{VILLAGE}.csv"')
    token = csrf_of(verifier)
    spoiled = verifier.post(f"/verification/{OPEN}/findings", data={"csrf_token": token},
                            files={"file": ("filled.csv", fill_field_list(listed.content,
                                                                          spoil=True))})
    assert spoiled.status_code == 400 and 'id="problems"' in spoiled.text
    assert "<td>2</td>" in spoiled.text and "maybe" in spoiled.text  # row 2: the first
    assert finding(app, home_of(app))["visited"] is None  # nothing was recorded
    uploaded = verifier.post(f"/verification/{OPEN}/findings", data={"csrf_token": token},
                             files={"file": ("filled.csv", fill_field_list(listed.content))})
    assert uploaded.status_code == 303
    village = verifier.get(f"/verification/{OPEN}/villages/{VILLAGE}").text
    assert village.count('data-finding="visited"') == 5
    sample = verifier.get(f"/verification/{OPEN}/sample.csv")
    assert sample.status_code == 200 and sample.text.startswith("position,household_number")


def test_taking_a_field_list_is_on_the_audit_trail(app: FastAPI, client_for: Clients) -> None:
    """The lists name the sampled households' heads: who took which is recorded, as an
    export; a refused request records nothing."""
    assert client_for("helper").get(
        f"/verification/{OPEN}/fieldlists/{VILLAGE}.csv").status_code == 403
    assert client_for("verifier").get(
        f"/verification/{OPEN}/fieldlists/{VILLAGE}.xlsx").status_code == 200
    with app.state.web.sessions() as db:
        events = db.execute(select(AuditEventRecord.actor, AuditEventRecord.entity_id,
                                   AuditEventRecord.after)
                            .where(AuditEventRecord.action == "export")).all()
    assert [(actor, name, json.loads(after)["villages"], json.loads(after)["rows"])
            for actor, name, after in events] == [
        ("web:verifier", f"plan{OPEN}-fieldlists", [VILLAGE], 5)]
