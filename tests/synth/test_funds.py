"""The synthetic books of funds: realistic, exact to the fen, deterministic, and clean unless
anomalies are planted, when each planted case breaks its own rule and nothing else."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from factories import operator
from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import FIELDS, FieldType, Kind, file_name
from tuopin.services.imports.files import import_file
from tuopin.services.imports.synthetic import load_synthetic
from tuopin.storage.models import DisbursementRecord
from tuopin.synth import SynthConfig, generate
from tuopin.synth.generate import county_tables
from tuopin.synth.regions import plan

from .conftest import BOOKS, PLANTED, SMALL, read_registry
from .funds_rules import fen, findings, read_books

# The rules of `tuopin funds check`, as the issue names them.
RULES = ["payee_not_registered", "payee_deceased", "duplicate_payment", "payee_ineligible",
         "outside_region", "conflict_of_interest", "over_budget", "over_allocation",
         "stalled_project", "project_overdue", "fund_overcommitted", "idle_funds"]
PAYMENT_RULES, PROJECT_RULES, FUND_RULES = RULES[:6], RULES[6:10], RULES[10:]
BOOK_KINDS = [Kind.FUNDS, Kind.PROJECTS, Kind.ALLOCATIONS, Kind.DISBURSEMENTS]
LATER = date(2026, 11, 29)
FEN_TEXT = re.compile(r"^-?\d+\.\d{2}$")
# Two counties of a thousand households, two cases of every rule, loaded into a store.
LOADED = SynthConfig(households=2_000, seed=1, households_per_village=40,
                     villages_per_township=5, townships_per_county=5, plant_anomalies=2)


@pytest.fixture(scope="module")
def books(books_dir: Path) -> dict[Kind, pd.DataFrame]:
    return read_books(books_dir)


@pytest.fixture(scope="module")
def planted(planted_dir: Path) -> pd.DataFrame:
    return pd.read_csv(planted_dir / "planted.csv", dtype=str, keep_default_na=False)


def _net(books: dict[Kind, pd.DataFrame]) -> pd.Series:
    pay = books[Kind.DISBURSEMENTS]
    return fen(pay.amount).groupby(pay.project).sum()


# -- clean and planted -----------------------------------------------------------------------

@pytest.mark.parametrize("day", [BOOKS.books_closed_on, LATER], ids=str)
def test_a_clean_book_gives_no_finding_when_the_books_close_or_later(
    books: dict[Kind, pd.DataFrame], day: date,
) -> None:
    assert BOOKS.books_closed_on == date(2020, 12, 31)
    assert findings(books, day) == set()


def test_a_clean_book_of_another_layout_gives_no_finding(small_dir: Path) -> None:
    assert findings(read_books(small_dir), SMALL.books_closed_on) == set()


def test_a_planted_book_gives_exactly_the_planted_findings(
    planted_dir: Path, planted: pd.DataFrame,
) -> None:
    found = findings(read_books(planted_dir), PLANTED.books_closed_on)
    assert found == set(zip(planted.rule, planted.subject, strict=True))


def test_planted_csv_lists_n_distinct_subjects_of_every_rule(
    planted_dir: Path, planted: pd.DataFrame,
) -> None:
    assert list(planted.columns) == ["rule", "subject"]
    assert planted.rule.value_counts().to_dict() == dict.fromkeys(RULES, 8)
    assert not planted.duplicated().any()
    books = read_books(planted_dir)
    numbers = {rules_of: set(books[kind].number) for rules_of, kind in (
        ("payment", Kind.DISBURSEMENTS), ("project", Kind.PROJECTS), ("fund", Kind.FUNDS))}
    for rule, subject in zip(planted.rule, planted.subject, strict=True):
        kind = ("payment" if rule in PAYMENT_RULES else
                "project" if rule in PROJECT_RULES else "fund")
        assert subject in numbers[kind], (rule, subject)


def test_the_cases_are_spread_over_the_counties(planted: pd.DataFrame) -> None:
    counties = planted.subject.str[1:7]
    assert counties.nunique() == len(plan(PLANTED).counties)


def test_a_run_without_anomalies_leaves_no_planted_csv(tmp_path: Path) -> None:
    generate(PLANTED, tmp_path)
    assert (tmp_path / "planted.csv").exists()
    generate(BOOKS, tmp_path)
    assert not (tmp_path / "planted.csv").exists()


def test_helpers_share_an_id_with_a_member_only_where_a_conflict_is_planted(
    books_dir: Path, planted_dir: Path,
) -> None:
    for directory, expected in ((books_dir, 0), (planted_dir, 8)):
        registry = read_registry(directory)
        ids = set(registry[Kind.MEMBERS].id_number)
        assert registry[Kind.HELPERS].id_number.isin(ids).sum() == expected


# -- deterministic and exact -----------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_same_seed_plants_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    for name in ("a", "b"):
        generate(LOADED, tmp_path / name, fmt=fmt)
    files = [file_name(kind, fmt) for kind in Kind] + ["planted.csv"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_amounts_are_exact_text_with_two_decimals_never_floats(
    planted_dir: Path, tmp_path: Path,
) -> None:
    generate(PLANTED, tmp_path, fmt="parquet")
    books = read_books(planted_dir)
    for kind in BOOK_KINDS:
        amounts = [f.name for f in FIELDS[kind] if f.type is FieldType.FEN]
        assert amounts
        schema = pq.read_schema(tmp_path / file_name(kind, "parquet"))
        table = pq.read_table(tmp_path / file_name(kind, "parquet"))
        for name in amounts:
            assert books[kind][name].str.fullmatch(FEN_TEXT).all(), (kind, name)
            assert schema.field(name).type == pa.string()
            assert table.column(name).to_pylist() == books[kind][name].tolist()


# -- realistic -------------------------------------------------------------------------------

def test_each_fund_gives_out_exactly_its_amount_soon_after_it_arrives(
    books: dict[Kind, pd.DataFrame],
) -> None:
    funds = books[Kind.FUNDS].set_index("number")
    alloc = books[Kind.ALLOCATIONS]
    given = fen(alloc.amount).groupby(alloc.fund).sum()
    assert given.reindex(funds.index).tolist() == fen(funds.amount).tolist()
    received = pd.to_datetime(funds.received_on)
    assert (received.dt.year == funds.year.astype(int)).all()
    assert received.dt.month.between(1, 5).all()  # funds arrive early in the year
    lag = pd.to_datetime(alloc.allocated_on) - alloc.fund.map(received)
    assert lag.between(pd.Timedelta(days=0), pd.Timedelta(days=150)).all()


def test_every_county_has_central_provincial_and_county_funds_every_year(
    books: dict[Kind, pd.DataFrame],
) -> None:
    funds = books[Kind.FUNDS]
    sources = funds.groupby([funds.region_code, funds.year]).source.agg(set)
    assert len(sources) == len(plan(BOOKS).counties) * len(BOOKS.years)
    assert all({"central", "provincial", "county"} <= s for s in sources)
    assert set(funds.source) > {"central", "provincial", "county", "integrated"}
    assert (funds.region_code.str[6:] == "000000").all()  # the county holds its funds


def test_projects_spend_within_allocation_and_allocate_within_budget(
    books: dict[Kind, pd.DataFrame],
) -> None:
    projects = books[Kind.PROJECTS].set_index("number")
    alloc = books[Kind.ALLOCATIONS]
    allocated = fen(alloc.amount).groupby(alloc.project).sum().reindex(projects.index)
    spent = _net(books).reindex(projects.index)
    assert (spent > 0).all() and (spent <= allocated).all()
    assert (allocated <= fen(projects.budget)).all()


def test_projects_of_many_kinds_at_every_level_all_finished_by_the_books_day(
    books: dict[Kind, pd.DataFrame],
) -> None:
    projects = books[Kind.PROJECTS]
    assert set(projects.kind) >= {"industry", "housing", "education", "employment", "health",
                                  "asset_income", "other"}
    levels = projects.region_code.str.replace(r"(000)+$", "", regex=True).str.len()
    assert set(levels) == {6, 9, 12}  # county, township and village projects
    assert set(projects.status) == {"completed", "closed"}
    start, end = pd.to_datetime(projects.start_on), pd.to_datetime(projects.end_on)
    assert (start.dt.year == end.dt.year).all() and (start < end).all()
    closed = projects[projects.status == "closed"]
    assert (closed.closed_on > closed.end_on).all()
    assert (closed.closed_on <= str(BOOKS.books_closed_on)).all()
    assert (projects.closed_on[projects.status != "closed"] == "").all()


def test_payments_reach_eligible_living_payees_inside_the_projects_region(
    books_dir: Path, books: dict[Kind, pd.DataFrame],
) -> None:
    registry = read_registry(books_dir)
    homes = registry[Kind.HOUSEHOLDS].set_index("number")
    members = registry[Kind.MEMBERS].set_index("id_number")
    pay = books[Kind.DISBURSEMENTS]
    by_id = pay.payee_id_number != ""
    assert by_id.any() and (~by_id).any()
    assert ((pay.payee_household == "") == by_id).all()  # one payee: a member or a household
    assert (members.deceased_date.reindex(pay.payee_id_number[by_id]) == "").all()
    household = pay.payee_household.where(~by_id, pay.payee_id_number.map(
        members.household_number))
    status = household.map(homes.status)
    exited = pd.to_numeric(household.map(homes.year_exited), errors="coerce")
    recent = (status == "exited") & (pd.to_datetime(pay.paid_on).dt.year - exited <= 3)
    assert (status.isin(["poor", "monitored"]) | recent).all()
    region = pay.project.map(books[Kind.PROJECTS].set_index("number").region_code)
    prefix = region.str.replace(r"(000)+$", "", regex=True)
    village = household.map(homes.village_code)
    assert all(v.startswith(p) for v, p in zip(village, prefix, strict=True))


def test_payments_fall_in_their_projects_dates_and_the_books_years(
    books: dict[Kind, pd.DataFrame],
) -> None:
    pay = books[Kind.DISBURSEMENTS]
    projects = books[Kind.PROJECTS].set_index("number")
    paid = pay.paid_on
    assert (paid >= pay.project.map(projects.start_on)).all()
    regular = (pay.reverses == "") & ~pay.number.isin(set(pay.reverses))
    assert (paid[regular] <= pay.project.map(projects.end_on)[regular]).mean() > 0.99
    assert paid.min() >= f"{BOOKS.years[0]}-01-01"
    assert paid.max() <= str(BOOKS.books_closed_on)
    assert pay.number.is_unique and pay.number.is_monotonic_increasing
    # each county numbers its payments in the order paid
    assert paid.groupby(pay.number.str[1:7]).is_monotonic_increasing.all()


def test_every_reversal_is_followed_by_the_corrected_payment(
    books: dict[Kind, pd.DataFrame],
) -> None:
    pay = books[Kind.DISBURSEMENTS].assign(fen=lambda p: fen(p.amount))
    by_number = pay.set_index("number")
    reversals = pay[pay.reverses != ""]
    assert 1 <= len(reversals) < len(pay) / 500  # a few
    payee = pay.payee_id_number + pay.payee_household
    for row in reversals.itertuples():
        original = by_number.loc[row.reverses]
        assert row.fen == -original.fen and row.project == original.project
        assert row.paid_on > original.paid_on and row.account == original.account
        again = pay[(payee == original.payee_id_number + original.payee_household)
                    & (pay.project == row.project) & (pay.paid_on > row.paid_on)
                    & (pay.reverses == "")]
        assert len(again) == 1
        assert again.fen.iloc[0] == original.fen and again.account.iloc[0] != row.account


def test_more_payments_per_household_gives_more_payments() -> None:
    county = plan(SMALL).counties[0]

    def payments(per_household: float) -> int:
        config = dataclasses.replace(SMALL, payments_per_household=per_household)
        return county_tables(config, county)[Kind.DISBURSEMENTS].num_rows

    assert payments(8.0) > 1.6 * payments(4.0)


def test_it_refuses_to_plant_more_cases_than_the_registry_holds(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="too small to plant"):
        generate(SynthConfig(households=300, seed=3, plant_anomalies=5), tmp_path)
    assert not list(tmp_path.iterdir())


# -- through the importer --------------------------------------------------------------------

def test_the_books_load_through_the_importer_and_reimport_unchanged(
    engine: Engine, today: date, tmp_path: Path,
) -> None:
    summary = generate(LOADED, tmp_path)
    planted: list[tuple[str, str]] = []
    counts = load_synthetic(engine, principal=operator("test"), config=LOADED, today=today,
                            planted=planted)
    assert counts == {kind.value: summary.counts[kind] for kind in Kind}
    assert planted == summary.planted and len(planted) == 2 * len(RULES)
    with engine.connect() as conn:
        total = conn.execute(select(func.sum(DisbursementRecord.amount))).scalar_one()
    assert int(total) == fen(read_books(tmp_path)[Kind.DISBURSEMENTS].amount).sum()
    for kind in Kind:
        again = import_file(engine, principal=operator("test"), kind=kind,
                            path=summary.paths[kind], today=today)
        assert again.ok, (kind, again.problems[:3])
        assert again.inserted == again.updated == 0, kind
