"""The web tests' small world: a registry, a user per persona, and helpers to drive it.

Personas: ``county_officer`` (the county), ``village_cadre`` (VILLAGE), ``other_cadre``
(OTHER_VILLAGE), ``outsider`` (a user of another county), ``helper`` (helps the first two
households of VILLAGE), ``auditor`` (the county, read-only),
``verifier`` (the county: reads, and verifies measures others completed),
``admin`` (everything), and
anonymous (no login).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import (
    COUNTY,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    members,
    operator,
    person_id,
    surveys,
    write_csv,
)
from tuopin.config import Settings
from tuopin.domain.enums import Role
from tuopin.io.schema import Kind
from tuopin.services.access import users

TODAY_ = date(2026, 11, 29)  # the same day as the root conftest's TODAY
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"
SECRET = "test-secret-key-" + "0" * 32

TOWNSHIP = "621121001"  # 平襄镇, the township of VILLAGE (not of OTHER_VILLAGE)
OUTSIDE_COUNTY = "621122"  # 陇西县
OUTSIDE_VILLAGE = "621122001001"
MINE = [f"{VILLAGE}{i:04d}" for i in (1, 2, 3)]
OTHERS = [f"{OTHER_VILLAGE}{i:04d}" for i in (1, 2)]
OUTSIDE = [f"{OUTSIDE_VILLAGE}{i:04d}" for i in (1,)]
PHONE = "13812345678"
BANK = "6228480012345678"
PAY_ACCOUNT = "6217000011112222333"  # the account of payment D001 (to MINE[0]'s head)
STRANGER = person_id(date(1980, 2, 2), 51)  # a payee the registry does not know
HEADS = [person_id(date(1970, 1, 1 + i), 11) for i in range(6)]  # factories.members' heads
# Projects: of VILLAGE, of OTHER_VILLAGE, of the county (paying both villages), outside.
P_VILLAGE, P_OTHER, P_COUNTY, P_OUTSIDE = "XM-V", "XM-O", "XM-C", "XM-X"


@dataclass(frozen=True)
class Persona:
    role: Role
    region: str | None
    sees: frozenset[str]  # the households this persona may see
    helper: str | None = None


PERSONAS = {
    "county_officer": Persona(Role.COUNTY_OFFICER, COUNTY, frozenset(MINE + OTHERS)),
    "village_cadre": Persona(Role.VILLAGE_CADRE, VILLAGE, frozenset(MINE)),
    "other_cadre": Persona(Role.VILLAGE_CADRE, OTHER_VILLAGE, frozenset(OTHERS)),
    "outsider": Persona(Role.COUNTY_OFFICER, OUTSIDE_COUNTY, frozenset(OUTSIDE)),
    "helper": Persona(Role.HELPER, COUNTY, frozenset(MINE[:2]), helper="H001"),
    "auditor": Persona(Role.AUDITOR, COUNTY, frozenset(MINE + OTHERS)),
    "verifier": Persona(Role.VERIFIER, COUNTY, frozenset(MINE + OTHERS)),
    "admin": Persona(Role.ADMIN, None, frozenset(MINE + OTHERS + OUTSIDE)),
}


def files(folder: Path) -> dict[Kind, Path]:
    regions = [*REGIONS, {"code": OUTSIDE_COUNTY, "name": "陇西县"},
               {"code": "621122001", "name": "巩昌镇"}, {"code": OUTSIDE_VILLAGE, "name": "北关村"}]
    homes = households(3, VILLAGE) + households(2, OTHER_VILLAGE) + households(1, OUTSIDE_VILLAGE)
    homes[0].update(phone=PHONE, bank_account=BANK, address="一组12号")
    numbers = [str(h["number"]) for h in homes]
    people = members(numbers)
    people[0]["phone"] = "13900001111"
    helpers = [{"number": "H001", "name": "王帮扶", "unit": "县农业农村局", "phone": "13700002222",
                "households": ";".join(MINE[:2])},
               {"number": "H002", "name": "李帮扶", "unit": "县教育局", "households": OTHERS[0]}]
    return {
        Kind.REGIONS: write_csv(folder / "regions.csv", regions),
        Kind.HOUSEHOLDS: write_csv(folder / "households.csv", homes),
        Kind.MEMBERS: write_csv(folder / "members.csv", people),
        Kind.SURVEYS: write_csv(folder / "surveys.csv", surveys(numbers)),
        Kind.HELPERS: write_csv(folder / "helpers.csv", helpers),
        **books(folder),
    }


def books(folder: Path) -> dict[Kind, Path]:
    """A county fund paying three projects (one a village's, one the other village's, one
    the county's, paying both villages) and a fund and project of the outside county."""
    funds = [{"number": "ZJ-1", "name": "中央衔接资金", "source": "central", "year": 2025,
              "amount": "100000.00", "region_code": COUNTY, "received_on": "2025-01-10"},
             {"number": "ZJ-X", "name": "陇西县资金", "source": "county", "year": 2025,
              "amount": "5000.00", "region_code": OUTSIDE_COUNTY, "received_on": "2025-01-10"}]
    projects = [{"number": number, "name": name, "region_code": region, "kind": "industry",
                 "budget": "40000.00", "start_on": "2025-02-01", "end_on": "2026-12-31",
                 "status": "in_progress"}
                for number, name, region in ((P_VILLAGE, "村养殖项目", VILLAGE),
                                             (P_OTHER, "他村种植项目", OTHER_VILLAGE),
                                             (P_COUNTY, "县务工补助", COUNTY),
                                             (P_OUTSIDE, "外县项目", OUTSIDE_VILLAGE))]
    allocations = [{"fund": "ZJ-X" if number == P_OUTSIDE else "ZJ-1", "project": number,
                    "amount": "20000.00", "allocated_on": "2025-02-01"}
                   for number in (P_VILLAGE, P_OTHER, P_COUNTY, P_OUTSIDE)]

    def paid(number: str, project: str, amount: str, *, person: str | None = None,
             home: str | None = None, account: str | None = None,
             reverses: str | None = None) -> dict[str, object]:
        return {"number": number, "project": project, "payee_id_number": person,
                "payee_household": home, "amount": amount, "paid_on": "2025-06-15",
                "channel": "card", "account": account, "reverses": reverses}

    payments = [paid("D001", P_VILLAGE, "1000.00", person=HEADS[0], account=PAY_ACCOUNT),
                paid("D002", P_VILLAGE, "500.00", person=STRANGER),
                paid("D003", P_OTHER, "800.00", person=HEADS[3]),
                paid("D004", P_COUNTY, "1200.00", home=MINE[1]),
                paid("D005", P_COUNTY, "1200.00", person=HEADS[4], account=BANK),
                paid("D006", P_OUTSIDE, "300.00", person=HEADS[5]),
                paid("D007", P_VILLAGE, "-500.00", person=STRANGER, reverses="D002")]
    return {Kind.FUNDS: write_csv(folder / "funds.csv", funds),
            Kind.PROJECTS: write_csv(folder / "projects.csv", projects),
            Kind.ALLOCATIONS: write_csv(folder / "allocations.csv", allocations),
            Kind.DISBURSEMENTS: write_csv(folder / "disbursements.csv", payments)}


def add_account(app: FastAPI, persona: str, role: Role, region: str | None) -> None:
    """One more account (with PASSWORD) than the personas, as the command line adds it."""
    with app.state.web.sessions() as db, db.begin():
        users.add(db, principal=operator("t"), username=persona.replace("_", "-"), role=role,
                  region_code=region, password=PASSWORD, hasher=CHEAP)


def settings_for(url: str, **changes: object) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, lang="zh", **changes)  # type: ignore[arg-type]


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The session's CSRF token, as the page at ``path`` carries it."""
    found = re.search(r'data-csrf="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: TestClient, persona: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client)
    response = client.post("/login", data={"username": persona.replace("_", "-"),
                                           "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client
