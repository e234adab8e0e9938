"""Importing the books of funds: exact money, payments never changed in place, reversals that
match, all or nothing, idempotent, audited, and only inside the importer's region."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from factories import COUNTY, OTHER_VILLAGE, VILLAGE, user
from fund_factories import (
    COUNTY_CODE,
    HEADS,
    HOME,
    IMPORTER,
    STRANGER,
    TODAY,
    allocation,
    fund,
    load,
    payment,
    project,
    registry,
    write,
)
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.domain.fen import MORE_THAN_FEN, NOT_AN_AMOUNT
from tuopin.io.schema import FUND_KINDS, KEYS, Kind
from tuopin.io.writers import write_table
from tuopin.services.imports import fund_checks
from tuopin.services.imports.files import ImportResult, import_file
from tuopin.services.registry.exports import export_table
from tuopin.storage.models import (
    AllocationRecord,
    AuditEventRecord,
    DisbursementRecord,
    FundRecord,
    ProjectRecord,
)

HOUSEHOLD = str(HOME[0]["number"])
ORDER = (Kind.FUNDS, Kind.PROJECTS, Kind.ALLOCATIONS, Kind.DISBURSEMENTS)
FUNDS = [fund("F1", "100,000.00"), fund("F2", "5000.5")]
PROJECTS = [project("P1"), project("P2", region=OTHER_VILLAGE, kind="housing"),
            project("P3", region=COUNTY, status="closed") | {"closed_on": "2020-12-01"}]
ALLOCATIONS = [allocation("F1", "P1", "30000.00"), allocation("F2", "P1", "1000"),
               allocation("F1", "P2", "0.01")]
PAYMENTS = [
    payment("D1", "P1", "100.00", id_number=HEADS[0], account="6228480000000001234"),
    payment("D2", "P1", "2,500.50", household=HOUSEHOLD, channel="bank"),
    payment("D3", "P1", "-2500.50", household=HOUSEHOLD, channel="bank", reverses="D2"),
    payment("D4", "P2", "0.01", id_number=STRANGER, channel="cash"),
]
BOOKS = dict(zip(ORDER, (FUNDS, PROJECTS, ALLOCATIONS, PAYMENTS), strict=True))


def count(engine: Engine, record: type, *where: object) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(record)
                            .where(*where)).scalar_one()  # type: ignore[arg-type]


def events(engine: Engine, entity: str | None = None) -> int:
    where = [AuditEventRecord.entity == entity] if entity else []
    return count(engine, AuditEventRecord, AuditEventRecord.action == "import", *where)


def problems(result: ImportResult) -> set[tuple[int, str, str]]:
    return {(p.row, p.column, p.reason) for p in result.problems}


@pytest.fixture
def booked(engine: Engine, tmp_path: Path) -> Engine:
    """A registry and the books above, imported."""
    registry(engine, tmp_path)
    for kind in ORDER:
        load(engine, tmp_path, kind, BOOKS[kind])
    return engine


def test_a_clean_book_imports_in_fen_with_its_reversals_linked(booked: Engine) -> None:
    with Session(booked) as db:
        amounts = dict(db.execute(select(FundRecord.number, FundRecord.amount)).all())
        paid = {d.number: d for d in db.scalars(select(DisbursementRecord))}
    assert amounts == {"F1": 10_000_000, "F2": 500_050}
    assert {n: d.amount for n, d in paid.items()} == {"D1": 10_000, "D2": 250_050,
                                                     "D3": -250_050, "D4": 1}
    assert paid["D3"].reverses_id == paid["D2"].id
    assert all(d.reverses_id is None for n, d in paid.items() if n != "D3")


def test_a_file_with_bad_rows_is_refused_whole_with_every_bad_row_reported(
        booked: Engine, tmp_path: Path) -> None:
    before, audited = count(booked, DisbursementRecord), events(booked)
    rows = [
        payment("D10", "P1", "12.345", id_number=HEADS[1]),  # row 2: three decimals
        payment("D11", "P1", "-99.00", id_number=HEADS[0], reverses="D1"),  # 3: not -100
        payment("D12", "P404", "10.00", id_number=HEADS[1]),  # 4: no such project
        payment("D1", "P1", "200.00", id_number=HEADS[0],  # 5: changed amount
                account="6228480000000001234"),
        payment("D13", "P1", "10.00", id_number=HEADS[2]),  # 6: a good row
    ]
    result = load(booked, tmp_path, Kind.DISBURSEMENTS, rows, ok=False)
    assert not result.written and (result.inserted, result.updated) == (0, 0)
    assert {(row, column, reason) for row, column, reason in problems(result)} == {
        (2, "amount", MORE_THAN_FEN),
        (3, "amount", fund_checks.NOT_MATCHING),
        (4, "project", fund_checks.NO_PROJECT),
        (5, "number", fund_checks.CHANGED),
    }
    assert result.rejected_rows == [2, 3, 4, 5]
    changed = next(p for p in result.problems if p.row == 5)
    assert "a disbursement is corrected by a reversal and a new payment" in changed.message("en")
    assert count(booked, DisbursementRecord) == before
    assert count(booked, DisbursementRecord, DisbursementRecord.number == "D13") == 0
    assert events(booked) == audited


@pytest.mark.parametrize(("typed", "reason"), [
    ("12.345", MORE_THAN_FEN),
    ("1,2", NOT_AN_AMOUNT),
    ("¥12", NOT_AN_AMOUNT),
    ("12元", NOT_AN_AMOUNT),
    ("1e3", NOT_AN_AMOUNT),
    ("12,34.00", NOT_AN_AMOUNT),
    ("0", "A payment of nothing is not a payment."),
    ("-5.00", "A payment is positive; a negative amount reverses a payment named under "
              "reverses."),
])
def test_an_amount_that_is_not_yuan_and_fen_is_refused_with_its_reason(
        booked: Engine, tmp_path: Path, typed: str, reason: str) -> None:
    result = load(booked, tmp_path, Kind.DISBURSEMENTS,
                  [payment("D20", "P1", typed, id_number=HEADS[1])], ok=False)
    assert problems(result) == {(2, "amount", reason)} and not result.written


@pytest.mark.parametrize(("rows", "expected"), [
    # D2 is stored and already reversed by D3
    ([payment("D30", "P1", "-2500.50", household=HOUSEHOLD, reverses="D2")],
     {(2, "reverses", fund_checks.REVERSED_BEFORE)}),
    ([payment("D30", "P2", "-100.00", id_number=HEADS[0], reverses="D1")],
     {(2, "project", fund_checks.OTHER_PROJECT)}),
    ([payment("D30", "P1", "2500.50", household=HOUSEHOLD, reverses="D3")],
     {(2, "amount", "A reversal has a negative amount, minus the payment it reverses."),
      (2, "reverses", fund_checks.REVERSES_REVERSAL)}),
    ([payment("D30", "P1", "-1.00", id_number=HEADS[0], reverses="D999")],
     {(2, "reverses", fund_checks.NO_PAYMENT)}),
    ([payment("D30", "P1", "-100.00", id_number=HEADS[0], reverses="D1"),
      payment("D31", "P1", "-100.00", id_number=HEADS[0], reverses="D1")],
     {(3, "reverses", "The same payment is already reversed on row {other}: a payment is "
                      "reversed only once.")}),
    # the payment reversed in the same file: its amount and project count as well
    ([payment("D40", "P1", "50.00", id_number=HEADS[1]),
      payment("D41", "P1", "-5.00", id_number=HEADS[1], reverses="D40"),
      payment("D42", "P2", "-50.00", id_number=HEADS[1], reverses="D40")],
     {(3, "amount", fund_checks.NOT_MATCHING), (4, "project", fund_checks.OTHER_PROJECT),
      (4, "reverses", "The same payment is already reversed on row {other}: a payment is "
                      "reversed only once.")}),
])
def test_a_reversal_must_match_the_one_payment_it_reverses(
        booked: Engine, tmp_path: Path, rows: list[dict[str, object]],
        expected: set[tuple[int, str, str]]) -> None:
    before = count(booked, DisbursementRecord)
    result = load(booked, tmp_path, Kind.DISBURSEMENTS, rows, ok=False)
    assert problems(result) == expected and not result.written
    assert count(booked, DisbursementRecord) == before


@pytest.mark.parametrize("change", [
    {"amount": "100.01"},
    {"payee_id_number": HEADS[1]},
    {"payee_household": HOUSEHOLD},
    {"project": "P2"},
    {"paid_on": "2020-06-16"},
    {"amount": "-100.00", "reverses": "D4"},
])
def test_a_payment_is_never_changed_in_place(booked: Engine, tmp_path: Path,
                                             change: dict[str, object]) -> None:
    changed = PAYMENTS[0] | change
    result = load(booked, tmp_path, Kind.DISBURSEMENTS, [changed], ok=False)
    assert (2, "number", fund_checks.CHANGED) in problems(result)
    with Session(booked) as db:
        stored = db.scalars(select(DisbursementRecord)
                            .where(DisbursementRecord.number == "D1")).one()
    assert (stored.amount, stored.payee_id_number, stored.payee_household) == (
        10_000, HEADS[0], None)


def test_a_wrong_payment_is_corrected_by_a_reversal_and_a_new_payment(
        booked: Engine, tmp_path: Path) -> None:
    result = load(booked, tmp_path, Kind.DISBURSEMENTS, [
        payment("D1R", "P1", "-100.00", id_number=HEADS[0], reverses="D1",
                paid_on="2020-07-01"),
        payment("D1B", "P1", "100.00", id_number=HEADS[1], paid_on="2020-07-01")])
    assert (result.inserted, result.updated) == (2, 0)


@pytest.mark.parametrize("kind", ORDER)
def test_re_importing_the_same_file_changes_nothing(booked: Engine, tmp_path: Path,
                                                     kind: Kind) -> None:
    audited = events(booked)
    with booked.connect() as conn:
        table = {FundRecord: "fund", ProjectRecord: "project"}
        before = {name: conn.execute(select(record)).all() for record, name in table.items()}
        paid_before = conn.execute(select(DisbursementRecord)
                                   .order_by(DisbursementRecord.number)).all()
    result = load(booked, tmp_path, kind, BOOKS[kind])
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, len(BOOKS[kind]))
    assert events(booked) == audited  # no change, no event
    with booked.connect() as conn:
        assert {name: conn.execute(select(record)).all()
                for record, name in table.items()} == before
        assert conn.execute(select(DisbursementRecord)
                            .order_by(DisbursementRecord.number)).all() == paid_before


def test_a_changed_fund_or_allocation_is_updated(booked: Engine, tmp_path: Path) -> None:
    result = load(booked, tmp_path, Kind.FUNDS, [FUNDS[0] | {"amount": "120000"}, FUNDS[1]])
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    result = load(booked, tmp_path, Kind.ALLOCATIONS,
                  [ALLOCATIONS[0] | {"amount": "29999.99"}, *ALLOCATIONS[1:]])
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    with Session(booked) as db:
        f1 = db.scalars(select(FundRecord).where(FundRecord.number == "F1")).one()
        amounts = sorted(db.scalars(select(AllocationRecord.amount)))
    assert (f1.amount, f1.version) == (12_000_000, 2)
    assert amounts == [1, 100_000, 2_999_999]


def test_every_import_that_writes_is_audited(engine: Engine, tmp_path: Path) -> None:
    registry(engine, tmp_path)
    for kind in ORDER:
        result = load(engine, tmp_path, kind, BOOKS[kind])
        with Session(engine) as db:
            (event,) = db.scalars(select(AuditEventRecord).where(
                AuditEventRecord.action == "import", AuditEventRecord.entity == kind.value))
        assert (event.actor, event.entity_id) == (IMPORTER.actor, result.sha256)
        assert event.after is not None
        assert json.loads(event.after)["inserted"] == len(BOOKS[kind])


def _export(engine: Engine, kind: Kind) -> pa.Table:
    with Session(engine) as db:
        return export_table(db, principal=IMPORTER, kind=kind)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_an_export_of_the_books_re_imports_unchanged(booked: Engine, tmp_path: Path,
                                                     suffix: str) -> None:
    for kind in ORDER:
        path = tmp_path / f"{kind.value}.{suffix}"
        write_table(_export(booked, kind), path)
        result = import_file(booked, principal=IMPORTER, kind=kind, path=path, today=TODAY)
        assert result.ok, (kind, result.problems)
        assert (result.inserted, result.updated, result.unchanged) == (
            0, 0, len(BOOKS[kind])), kind
        if suffix == "xlsx":  # amounts are text in the sheet: never a float
            sheet = openpyxl.load_workbook(path, read_only=True).active
            assert sheet is not None
            assert not [c for row in sheet.iter_rows(values_only=True) for c in row
                        if isinstance(c, float)]


def test_an_export_loads_into_an_empty_book_and_exports_the_same(
        booked: Engine, tmp_path: Path) -> None:
    exported = {kind: _export(booked, kind) for kind in ORDER}
    files = {}
    for kind, table in exported.items():
        files[kind] = tmp_path / f"export-{kind.value}.csv"
        write_table(table, files[kind])
    with Session(booked) as db, db.begin():
        for record in (DisbursementRecord, AllocationRecord, ProjectRecord, FundRecord):
            db.execute(delete(record))
    for kind in ORDER:
        result = import_file(booked, principal=IMPORTER, kind=kind, path=files[kind],
                             today=TODAY)
        assert result.ok and result.inserted == len(BOOKS[kind]), result.problems
    # the same rows; PostgreSQL may number the new rows in another order than the file's
    for kind in ORDER:
        keys = [(name, "ascending") for name in KEYS[kind]]
        assert _export(booked, kind).sort_by(keys) == exported[kind].sort_by(keys), kind


OTHER_COUNTY = "621122"


@pytest.mark.parametrize("kind", ORDER)
def test_a_county_officer_of_another_county_cannot_import_this_countys_books(
        booked: Engine, tmp_path: Path, kind: Kind) -> None:
    officer = user(Role.COUNTY_OFFICER, OTHER_COUNTY, username="other")
    rows = {Kind.FUNDS: [fund("F9", region=COUNTY)],
            Kind.PROJECTS: [project("P9")],
            Kind.ALLOCATIONS: [allocation("F1", "P3", "10.00")],
            Kind.DISBURSEMENTS: [payment("D9", "P1", "10.00", id_number=HEADS[1])]}[kind]
    before = {r: count(booked, r) for r in (FundRecord, ProjectRecord, AllocationRecord,
                                            DisbursementRecord)}
    result = load(booked, tmp_path, kind, rows, principal=officer, ok=False)
    assert not result.written and result.problems
    assert {p.reason for p in result.problems} == {fund_checks.OUTSIDE}
    assert {r: count(booked, r) for r in before} == before
    # the county's own officer may
    mine = user(Role.COUNTY_OFFICER, COUNTY, username="mine")
    assert load(booked, tmp_path, kind, rows, principal=mine).inserted == 1


def test_a_stored_record_of_another_county_is_not_taken_over(booked: Engine,
                                                             tmp_path: Path) -> None:
    officer = user(Role.COUNTY_OFFICER, OTHER_COUNTY, username="other")
    taken = fund("F1", region=OTHER_COUNTY)  # F1 is this county's
    result = load(booked, tmp_path, Kind.FUNDS, [taken], principal=officer, ok=False)
    assert (2, "number", fund_checks.OUTSIDE) in problems(result)
    with Session(booked) as db:
        assert db.scalars(select(FundRecord.region_code)
                          .where(FundRecord.number == "F1")).one() == COUNTY_CODE


@pytest.mark.parametrize("role", sorted(set(Role) - {Role.ADMIN, Role.COUNTY_OFFICER}))
def test_only_a_county_office_imports_the_books(booked: Engine, tmp_path: Path,
                                                role: Role) -> None:
    someone = user(role, VILLAGE if role is Role.VILLAGE_CADRE else COUNTY)
    for kind in FUND_KINDS:
        with pytest.raises(PermissionDenied):
            load(booked, tmp_path, kind, BOOKS[kind], principal=someone, ok=False)


def test_skipping_bad_rows_never_leaves_a_reversal_without_its_payment(
        booked: Engine, tmp_path: Path) -> None:
    rows = [payment("X1", "P1", "12.345", id_number=HEADS[1]),  # refused
            payment("X2", "P1", "-12.34", id_number=HEADS[1], reverses="X1"),
            payment("X3", "P1", "7.00", id_number=HEADS[2]),
            payment("X4", "P1", "-7.00", id_number=HEADS[2], reverses="X3")]
    result = import_file(booked, principal=IMPORTER, kind=Kind.DISBURSEMENTS,
                         path=write(tmp_path, Kind.DISBURSEMENTS, rows), today=TODAY,
                         skip_invalid=True)
    assert result.rejected_rows == [2, 3]
    assert (3, "reverses", fund_checks.WITH_REFUSED) in problems(result)
    with Session(booked) as db:
        stored = dict(db.execute(select(DisbursementRecord.number,
                                        DisbursementRecord.reverses_id)
                                 .where(DisbursementRecord.number.like("X%"))).all())
        x3 = db.scalars(select(DisbursementRecord.id)
                        .where(DisbursementRecord.number == "X3")).one()
    assert stored == {"X3": None, "X4": x3}
