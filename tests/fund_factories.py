"""Small books of funds written as import files, and a registry to pay, for the funds tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from factories import (
    COUNTY,
    OTHER_VILLAGE,
    VILLAGE,
    households,
    members,
    operator,
    person_id,
    registry_files,
    write_csv,
)
from tuopin.io.schema import Kind, field_names
from tuopin.services.access.principal import Principal
from tuopin.services.imports.files import ImportResult, import_file

TODAY = date(2026, 11, 29)
IMPORTER = operator("books")
COUNTY_CODE = COUNTY.ljust(12, "0")
HOME = households(3)  # in VILLAGE: 0001 is poor, the others ordinary
OTHER_HOME = households(2, village=OTHER_VILLAGE)
HEADS = [person_id(date(1970, 1, 1 + i), 11) for i in range(3)]  # factories.members
OTHER_HEADS = [person_id(date(1966, 5, 1 + i), 31) for i in range(2)]
STRANGER = person_id(date(1980, 2, 2), 51)  # a valid ID the registry does not know
PHONES = [f"1390000{i:04d}" for i in range(5)]


def fund(number: str, amount: str = "100000.00", *, region: str = COUNTY,
         source: str = "central", received_on: str = "2020-03-01") -> dict[str, object]:
    return {"number": number, "name": f"资金{number}", "source": source, "year": 2020,
            "amount": amount, "region_code": region, "received_on": received_on}


def project(number: str, *, region: str = VILLAGE, budget: str = "50000.00",
            kind: str = "industry", status: str = "in_progress") -> dict[str, object]:
    return {"number": number, "name": f"项目{number}", "region_code": region, "kind": kind,
            "budget": budget, "start_on": "2020-04-01", "end_on": "2020-12-31",
            "status": status}


def allocation(fund_number: str, project_number: str, amount: str,
               allocated_on: str = "2020-04-01") -> dict[str, object]:
    return {"fund": fund_number, "project": project_number, "amount": amount,
            "allocated_on": allocated_on}


def payment(number: str, project_number: str, amount: str, *, id_number: str | None = None,
            household: str | None = None, paid_on: str = "2020-06-15",
            channel: str = "card", account: str | None = None,
            reverses: str | None = None) -> dict[str, object]:
    return {"number": number, "project": project_number, "payee_id_number": id_number,
            "payee_household": household, "amount": amount, "paid_on": paid_on,
            "channel": channel, "account": account, "reverses": reverses}


def write(folder: Path, kind: Kind, rows: list[dict[str, object]], name: str = "") -> Path:
    """The rows as a CSV file of ``kind`` (every column of the kind, in order)."""
    path = folder / f"{name or kind.value}.csv"
    suffix = 1
    while path.exists():
        path, suffix = folder / f"{name or kind.value}-{suffix}.csv", suffix + 1
    return write_csv(path, rows, header=field_names(kind))


def load(engine: Engine, folder: Path, kind: Kind, rows: list[dict[str, object]], *,
         principal: Principal = IMPORTER, ok: bool = True) -> ImportResult:
    """Import ``rows`` of ``kind``; with ``ok`` the import must be clean."""
    result = import_file(engine, principal=principal, kind=kind,
                         path=write(folder, kind, rows), today=TODAY)
    if ok:
        assert result.ok and result.written, [(p.row, p.column, p.reason)
                                              for p in result.problems]
    return result


def registry(engine: Engine, folder: Path) -> None:
    """Regions, three households of VILLAGE and two of OTHER_VILLAGE, with members (the
    heads with phones)."""
    files = registry_files(folder, n=3)
    people = members([str(h["number"]) for h in HOME])
    for i, number in enumerate(str(h["number"]) for h in OTHER_HOME):
        people.append({"household_number": number, "id_number": OTHER_HEADS[i],
                       "name": f"外村户主{i}", "relation": "head"})
    for person, phone in zip((p for p in people if p["relation"] == "head"), PHONES,
                             strict=False):
        person["phone"] = phone
    for kind, path in (
        (Kind.REGIONS, files["regions"]),
        (Kind.HOUSEHOLDS, write_csv(folder / "homes.csv", HOME + OTHER_HOME)),
        (Kind.MEMBERS, write_csv(folder / "people.csv", people)),
    ):
        result = import_file(engine, principal=IMPORTER, kind=kind, path=path, today=TODAY)
        assert result.ok, result.problems


def book_files(folder: Path) -> dict[str, Path]:
    """One file of each kind of the books (a fund, a project of VILLAGE, its allocation, a
    payment to the first household's head and its reversal), named by kind."""
    rows: dict[Kind, list[dict[str, object]]] = {
        Kind.FUNDS: [fund("ZJ-1")],
        Kind.PROJECTS: [project("XM-1")],
        Kind.ALLOCATIONS: [allocation("ZJ-1", "XM-1", "20000.00")],
        Kind.DISBURSEMENTS: [payment("D1", "XM-1", "1000.00", id_number=HEADS[0]),
                             payment("D2", "XM-1", "-1000.00", id_number=HEADS[0],
                                     reverses="D1")],
    }
    return {kind.value: write(folder, kind, table) for kind, table in rows.items()}
