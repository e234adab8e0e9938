"""A small county's books with one flagged case and one near miss for every funds check.

Every subject is built to break exactly the rules listed in FINDINGS and nothing else, so a
test can compare the whole list of findings; the near misses (a second payment 31 days
later, a payment the day before a death, spending exactly the budget...) sit beside them.
The checks run on AS_OF, the day the files are imported.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from factories import OTHER_VILLAGE, REGIONS, VILLAGE, operator, person_id, write_csv
from tuopin.io.schema import Kind
from tuopin.services.imports.files import import_file
from tuopin.storage.db import make_engine

AS_OF = date(2026, 11, 29)
COUNTY = "621121"
TOWN1, TOWN2 = "621121001", "621121002"
V1, V1B, V2 = VILLAGE, "621121001002", OTHER_VILLAGE

# household: (village, status, year identified, year exited, {member: (born, relation,
# died)})
HOMES: dict[str, tuple[str, str, int | None, int | None, dict[str, tuple]]] = {
    "A": (V1, "poor", 2016, None, {"A_HEAD": (date(1970, 1, 1), "head", None)}),
    "B": (V1, "poor", 2016, None, {"B_HEAD": (date(1970, 1, 2), "head", None)}),
    "C": (V1, "poor", 2016, None, {"C_HEAD": (date(1970, 1, 3), "head", None)}),
    "D": (V1, "poor", 2016, None, {
        "D_HEAD": (date(1940, 1, 4), "head", "2026-03-10"),
        "D_SPOUSE": (date(1941, 1, 4), "spouse", "2026-03-10")}),
    "ORD": (V1, "ordinary", None, None, {"ORD_HEAD": (date(1970, 1, 5), "head", None)}),
    # ordinary again after monitoring ended: identified once, so not "never poor"
    "CLR": (V1, "ordinary", 2021, None, {"CLR_HEAD": (date(1970, 1, 6), "head", None)}),
    "EX": (V1, "exited", 2016, 2020, {
        "EX_HEAD": (date(1970, 1, 7), "head", None),
        "EX_CHILD": (date(2000, 1, 7), "child", None)}),
    "CAD": (V1, "poor", 2016, None, {
        "CAD_HEAD": (date(1970, 1, 8), "head", None),
        "CAD_SPOUSE": (date(1972, 1, 8), "spouse", None)}),
    "CAD2": (V1, "poor", 2016, None, {
        "CAD2_HEAD": (date(1970, 1, 9), "head", None),
        "CAD2_SPOUSE": (date(1972, 1, 9), "spouse", None)}),
    "CAD3": (V1, "poor", 2016, None, {
        "CAD3_HEAD": (date(1970, 1, 10), "head", None),
        "CAD3_SPOUSE": (date(1972, 1, 10), "spouse", None)}),
    "HH": (V1, "poor", 2016, None, {"HH_HEAD": (date(1970, 1, 11), "head", None)}),
    "GOOD": (V1, "poor", 2016, None, {
        "GOOD_HEAD": (date(1970, 1, 12), "head", None),
        "GOOD_CHILD": (date(2001, 1, 12), "child", None)}),
    "V1B": (V1B, "poor", 2016, None, {"V1B_HEAD": (date(1970, 1, 13), "head", None)}),
    "V2": (V2, "poor", 2016, None, {"V2_HEAD": (date(1970, 1, 14), "head", None)}),
}
NUMBERS = {name: f"{village}{i:04d}" for i, (name, (village, *_)) in enumerate(
    HOMES.items(), start=1)}
IDS = {person: person_id(born, 11 + 2 * i)
       for i, (person, (born, _, _)) in enumerate(
           (p, m) for home in HOMES.values() for p, m in home[4].items())}
UNKNOWN_ID = person_id(date(1980, 5, 5), 999)
UNKNOWN_HOUSEHOLD = f"{V1}0099"
HELPER_ID = person_id(date(1985, 6, 6), 997)  # a helper who is no member of the registry

# helper: (the member who is the helper, households assigned, assigned since)
HELPERS = {
    "HLP1": ("CAD_SPOUSE", ["A"], "2016-03-01"),  # helps in the payee's own village
    "HLP2": ("CAD2_SPOUSE", ["V1B"], "2016-03-01"),  # helps only in another village
    "HLP3": ("CAD3_SPOUSE", ["B"], "2026-06-01"),  # assigned after the payment
    "HLP4": (HELPER_ID, ["A"], "2016-03-01"),  # paid in person, for household GOOD
}

# project: (region, budget, status, end_on, [(fund, amount, allocated_on)])
PROJECTS: dict[str, tuple[str, str, str, str, list[tuple[str, str, str]]]] = {
    "P1": (V1, "100000.00", "in_progress", "2026-12-31", [("F1", "100000.00", "2025-02-01")]),
    "P-TOWN": (TOWN1, "50000.00", "in_progress", "2026-12-31",
               [("F1", "50000.00", "2025-02-01")]),
    "P-COUNTY": (COUNTY, "50000.00", "in_progress", "2026-12-31",
                 [("F1", "50000.00", "2025-02-01")]),
    "P-OB": (V1, "1000.00", "in_progress", "2026-12-31", [("F1", "2000.00", "2026-01-01")]),
    "P-OB-OK": (V1, "1000.00", "in_progress", "2026-12-31", [("F1", "1000.00", "2026-01-01")]),
    "P-OA": (V1, "5000.00", "in_progress", "2026-12-31", [("F1", "1000.00", "2026-01-01")]),
    "P-OA-NET": (V1, "5000.00", "in_progress", "2026-12-31",
                 [("F1", "1000.00", "2026-01-01")]),
    "P-STALL": (V1, "5000.00", "in_progress", "2026-12-31", [("F1", "5000.00", "2025-11-28")]),
    "P-STALL-OK": (V1, "5000.00", "in_progress", "2026-12-31",
                   [("F1", "5000.00", "2025-11-29")]),
    "P-STALL-REV": (V1, "2000.00", "planned", "2026-12-31", [("F1", "2000.00", "2025-01-01")]),
    "P-STALL-DONE": (V1, "1000.00", "completed", "2025-12-31",
                     [("F1", "1000.00", "2025-01-01")]),
    "P-LATE": (V1, "3000.00", "in_progress", "2026-11-28", [("F1", "3000.00", "2025-02-01")]),
    "P-LATE-OK": (V1, "3000.00", "in_progress", "2026-11-29",
                  [("F1", "3000.00", "2025-02-01")]),
    "P-V2-LATE": (V2, "2000.00", "in_progress", "2026-06-30", [("F1", "2000.00", "2026-01-01")]),
    "P-DONE": (V1, "1000.00", "completed", "2026-01-01", [("F1", "1000.00", "2025-06-01")]),
    "P-OC1": (V1, "1000.00", "planned", "2026-12-31", [("F-OC", "600.00", "2026-10-01")]),
    "P-OC2": (V1, "1000.00", "planned", "2026-12-31", [("F-OC", "400.01", "2026-10-01")]),
    "P-FULL": (V1, "1000.00", "planned", "2026-12-31", [("F-FULL", "1000.00", "2026-10-01")]),
    "P-IDLE": (V1, "4000.00", "planned", "2026-12-31", [("F-IDLE", "4000.00", "2026-10-01")]),
}
# fund: (amount, received_on); F1 holds exactly what it gives
FUNDS = {
    "F1": ("227000.00", "2025-01-01"),
    "F-OC": ("1000.00", "2026-09-01"),
    "F-FULL": ("1000.00", "2024-01-01"),
    "F-IDLE": ("10000.00", "2025-11-28"),
    "F-IDLE-OK": ("10000.00", "2025-11-29"),
}
# payment: (project, payee: a member, "household:NAME", an unknown id/household, or an ID
# and a household as "ID|household:NAME", amount, paid_on, the payment it reverses)
PAYMENTS: dict[str, tuple[str, str, str, str, str | None]] = {
    "D-DUP-A1": ("P1", "A_HEAD", "500.00", "2026-02-01", None),
    "D-DUP-A2": ("P1", "A_HEAD", "500.00", "2026-03-03", None),  # 30 days: twice
    "D-DUP-B1": ("P1", "B_HEAD", "500.00", "2026-02-01", None),
    "D-DUP-B2": ("P1", "B_HEAD", "500.00", "2026-03-04", None),  # 31 days: not twice
    "D-C1": ("P1", "C_HEAD", "500.00", "2026-02-01", None),
    "D-C1R": ("P1", "C_HEAD", "-500.00", "2026-02-05", "D-C1"),
    "D-C2": ("P1", "C_HEAD", "500.00", "2026-02-06", None),  # the reversed one is not earlier
    "D-DEAD": ("P1", "D_HEAD", "300.00", "2026-03-10", None),  # the day of death
    "D-DEAD-OK": ("P1", "D_SPOUSE", "300.00", "2026-03-09", None),  # the day before
    "D-ORD": ("P1", "ORD_HEAD", "300.00", "2026-04-01", None),
    "D-CLR": ("P1", "CLR_HEAD", "300.00", "2026-04-01", None),
    "D-EX-LATE": ("P1", "EX_HEAD", "300.00", "2026-01-02", None),  # sixth year after 2020
    "D-EX-OK": ("P1", "EX_CHILD", "300.00", "2025-12-31", None),  # fifth year
    "D-COI": ("P1", "CAD_HEAD", "300.00", "2026-05-01", None),
    "D-COI-OK": ("P1", "CAD2_HEAD", "300.00", "2026-05-01", None),
    "D-COI-LATER": ("P1", "CAD3_HEAD", "300.00", "2026-05-01", None),
    "D-HH1": ("P1", "household:HH", "400.00", "2026-04-01", None),
    "D-HH2": ("P1", "household:HH", "400.00", "2026-04-15", None),
    "D-COI-SELF": ("P1", f"{HELPER_ID}|household:GOOD", "300.00", "2026-05-02", None),
    "D-NR1": ("P1", UNKNOWN_ID, "200.00", "2026-02-10", None),
    "D-NR2": ("P1", f"household:{UNKNOWN_HOUSEHOLD}", "200.00", "2026-02-10", None),
    "D-OUT": ("P1", "V1B_HEAD", "300.00", "2026-05-05", None),
    "D-GOOD": ("P1", "GOOD_HEAD", "1000.00", "2026-01-15", None),
    "D-GOOD-HH": ("P1", "household:GOOD", "1000.00", "2026-01-20", None),
    "D-TOWN-IN": ("P-TOWN", "V1B_HEAD", "300.00", "2026-05-05", None),
    "D-CTY1": ("P-COUNTY", "V2_HEAD", "600.00", "2026-05-01", None),
    "D-CTY2": ("P-COUNTY", "V2_HEAD", "600.00", "2026-05-20", None),
    "D-OB": ("P-OB", "GOOD_HEAD", "1000.01", "2026-02-01", None),
    "D-OBOK": ("P-OB-OK", "GOOD_HEAD", "1000.00", "2026-02-01", None),
    "D-OA": ("P-OA", "GOOD_HEAD", "1000.01", "2026-02-01", None),
    "D-OAN1": ("P-OA-NET", "GOOD_HEAD", "1000.00", "2026-02-01", None),
    "D-OAN2": ("P-OA-NET", "GOOD_CHILD", "300.00", "2026-02-20", None),
    "D-OAN2R": ("P-OA-NET", "GOOD_CHILD", "-300.00", "2026-02-21", "D-OAN2"),
    "D-LATE": ("P-LATE", "GOOD_HEAD", "1000.00", "2026-02-01", None),
    "D-LATEOK": ("P-LATE-OK", "GOOD_HEAD", "500.00", "2026-02-01", None),
    "D-DONE": ("P-DONE", "GOOD_HEAD", "1000.00", "2025-07-01", None),
    "D-SREV": ("P-STALL-REV", "GOOD_HEAD", "500.00", "2025-03-01", None),
    "D-SREVR": ("P-STALL-REV", "GOOD_HEAD", "-500.00", "2025-03-02", "D-SREV"),
}
# Payments to every kind of bad payee, each reversed: none of them may be flagged.
REVERSED_BAD = {
    "D-RX-NR": ("P1", UNKNOWN_ID, "2026-03-20"),
    "D-RX-NRH": ("P1", f"household:{UNKNOWN_HOUSEHOLD}", "2026-03-20"),
    "D-RX-DEAD": ("P1", "D_HEAD", "2026-04-20"),
    "D-RX-ORD": ("P1", "ORD_HEAD", "2026-06-10"),
    "D-RX-EX": ("P1", "EX_HEAD", "2026-02-01"),
    "D-RX-OUT": ("P1", "V1B_HEAD", "2026-07-01"),
    "D-RX-COI": ("P1", "CAD_HEAD", "2026-05-10"),
    "D-RX-DUP": ("P1", "A_HEAD", "2026-03-10"),
}
for _number, (_project, _payee, _day) in REVERSED_BAD.items():
    PAYMENTS[_number] = (_project, _payee, "300.00", _day, None)
    PAYMENTS[f"{_number}-R"] = (_project, _payee, "-300.00", _day, _number)

H = NUMBERS
# rule -> {subject: (amount, related)}: every finding the book holds, and nothing else
FINDINGS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "payee_not_registered": {"D-NR1": ("200.00", ["P1"]), "D-NR2": ("200.00", ["P1"]),
                             "D-COI-SELF": ("300.00", ["P1", H["GOOD"]])},
    "payee_deceased": {"D-DEAD": ("300.00", ["P1", H["D"]])},
    "duplicate_payment": {"D-DUP-A2": ("500.00", ["D-DUP-A1", "P1", H["A"]]),
                          "D-HH2": ("400.00", ["D-HH1", "P1", H["HH"]]),
                          "D-CTY2": ("600.00", ["D-CTY1", "P-COUNTY", H["V2"]])},
    "payee_ineligible": {"D-ORD": ("300.00", ["P1", H["ORD"]]),
                         "D-EX-LATE": ("300.00", ["P1", H["EX"]])},
    "outside_region": {"D-OUT": ("300.00", ["P1", H["V1B"]])},
    "conflict_of_interest": {"D-COI": ("300.00", ["P1", H["CAD"], "HLP1"]),
                             "D-COI-SELF": ("300.00", ["P1", H["GOOD"], "HLP4"])},
    "over_budget": {"P-OB": ("0.01", ["F1"])},
    "over_allocation": {"P-OA": ("0.01", ["F1"])},
    "fund_overcommitted": {"F-OC": ("0.01", ["P-OC1", "P-OC2"])},
    "idle_funds": {"F-IDLE": ("6000.00", ["P-IDLE"])},
    "stalled_project": {"P-STALL": ("5000.00", ["F1"]), "P-STALL-REV": ("2000.00", ["F1"])},
    "project_overdue": {"P-LATE": ("2000.00", ["F1"]), "P-V2-LATE": ("2000.00", ["F1"])},
}
# rule -> the subjects next to the flagged ones that must not be flagged
NEAR_MISSES: dict[str, list[str]] = {
    "payee_not_registered": ["D-GOOD", "D-GOOD-HH"],
    "payee_deceased": ["D-DEAD-OK"],
    "duplicate_payment": ["D-DUP-B2", "D-C2", "D-TOWN-IN"],
    "payee_ineligible": ["D-CLR", "D-EX-OK"],
    "outside_region": ["D-TOWN-IN", "D-CTY1"],
    "conflict_of_interest": ["D-COI-OK", "D-COI-LATER"],
    "over_budget": ["P-OB-OK"],
    "over_allocation": ["P-OB-OK", "P-OA-NET"],
    "fund_overcommitted": ["F-FULL"],
    "idle_funds": ["F-IDLE-OK", "F-FULL", "F1"],
    "stalled_project": ["P-STALL-OK", "P-STALL-DONE", "P1"],
    "project_overdue": ["P-LATE-OK", "P-DONE", "P-STALL-DONE"],
}
# what a township officer of each township sees (rule, subject)
IN_TOWN2 = {("duplicate_payment", "D-CTY2"), ("project_overdue", "P-V2-LATE")}


def _payee(payee: str) -> dict[str, str | None]:
    if "|" in payee:
        person, home = payee.split("|")
        return {**_payee(home), "payee_id_number": IDS.get(person, person)}
    if payee.startswith("household:"):
        name = payee.removeprefix("household:")
        return {"payee_id_number": None, "payee_household": NUMBERS.get(name, name)}
    return {"payee_id_number": IDS.get(payee, payee), "payee_household": None}


def registry_rows() -> dict[Kind, list[dict[str, object]]]:
    """Regions, households, members and helpers of the book."""
    homes, people = [], []
    for name, (village, status, identified, exited, members) in HOMES.items():
        homes.append({"number": NUMBERS[name], "village_code": village, "status": status,
                      "year_identified": identified, "year_exited": exited,
                      "main_cause": "illness" if identified else None})
        for person, (_, relation, died) in members.items():
            people.append({"household_number": NUMBERS[name], "id_number": IDS[person],
                           "name": person, "relation": relation, "deceased_date": died})
    helpers = [{"number": number, "name": f"帮扶{person}" if person in IDS else "帮扶外来干部",
                "unit": "县农业农村局",
                "households": ";".join(NUMBERS[h] for h in homes_), "start_date": since,
                "id_number": IDS.get(person, person)}
               for number, (person, homes_, since) in HELPERS.items()]
    return {Kind.REGIONS: [*REGIONS, {"code": V1B, "name": "西关村"}],
            Kind.HOUSEHOLDS: homes, Kind.MEMBERS: people, Kind.HELPERS: helpers}


def book_rows(payments: dict[str, tuple[str, str, str, str, str | None]] | None = None,
              ) -> dict[Kind, list[dict[str, object]]]:
    """Funds, projects, allocations and payments (``payments``: the book's own by default)."""
    funds = [{"number": n, "name": f"资金{n}", "source": "central", "year": 2025, "amount": a,
              "region_code": COUNTY, "received_on": on} for n, (a, on) in FUNDS.items()]
    projects = [{"number": n, "name": f"项目{n}", "region_code": region, "kind": "industry",
                 "budget": budget, "start_on": "2025-01-01", "end_on": end, "status": status}
                for n, (region, budget, status, end, _) in PROJECTS.items()]
    allocations = [{"fund": fund, "project": n, "amount": amount, "allocated_on": on}
                   for n, (*_, given) in PROJECTS.items() for fund, amount, on in given]
    rows = [{"number": n, "project": project, **_payee(payee), "amount": amount,
             "paid_on": on, "channel": "card", "reverses": reverses}
            for n, (project, payee, amount, on, reverses) in
            (PAYMENTS if payments is None else payments).items()]
    return {Kind.FUNDS: funds, Kind.PROJECTS: projects, Kind.ALLOCATIONS: allocations,
            Kind.DISBURSEMENTS: rows}


def load(engine: Engine, folder: Path,
         rows: dict[Kind, list[dict[str, object]]] | None = None) -> None:
    """Import the registry and the books (``rows``: this book's by default) into ``engine``."""
    everything = {**registry_rows(), **(rows or book_rows())}
    for kind, kind_rows in everything.items():
        if not kind_rows:
            continue
        path = write_csv(folder / f"{kind.value}.csv", kind_rows)
        result = import_file(engine, principal=operator(), kind=kind, path=path, today=AS_OF)
        assert result.ok, (kind, [str(p) for p in result.problems][:5])


def sqlite_store(folder: Path, template: Path,
                 rows: dict[Kind, list[dict[str, object]]] | None = None) -> str:
    """A copy of the migrated ``template`` store in ``folder`` with the book loaded."""
    path = folder / "tuopin.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        load(engine, folder, rows)
    finally:
        engine.dispose()
    return url
