"""The funds checks' rules as Ibis expressions: every planted case found, every near miss
left alone, on the store itself (SQLite), DuckDB over a snapshot and DuckDB over Arrow."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import pytest

import funds_check_book as book
from tuopin.analytics import backends, funds
from tuopin.domain import fund_rules
from tuopin.domain.errors import ConfigurationError
from tuopin.domain.fen import parse_fen
from tuopin.io.schema import Kind
from tuopin.storage.snapshot import read_tables, write_snapshot

ENGINES = ["sqlite", "duckdb", "arrow"]
RULES = fund_rules.load()


def _open(engine: str, url: str, snapshot: Path | None = None) -> backends.Registry:
    if engine == "sqlite":
        return backends.open_store(url)
    if engine == "arrow":
        return backends.open_arrow(read_tables(url, funds.BOOKS))
    assert snapshot is not None
    return backends.open_snapshot(snapshot)


def run(engine: str, url: str, snapshot: Path | None = None, *, as_of: date = book.AS_OF,
        rules: fund_rules.FundRules = RULES, prefix: str = "") -> dict[str, list[dict]]:
    registry = _open(engine, url, snapshot)
    try:
        return funds.run(registry, funds.Check(rules, as_of, scope_prefix=prefix))
    finally:
        backends.close(registry)


def subjects(found: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    return {(rule, row["subject"]) for rule, rows in found.items() for row in rows}


@pytest.fixture(scope="module")
def book_url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The book of funds_check_book in a SQLite store, loaded once for this module."""
    return book.sqlite_store(tmp_path_factory.mktemp("funds_book"), sqlite_template)


@pytest.fixture(scope="module")
def book_snapshot(book_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("funds_snapshot") / "snapshot"
    write_snapshot(book_url, out, taken_at=datetime(2026, 11, 29, tzinfo=UTC))
    return out


@pytest.fixture(scope="module")
def found(book_url: str, book_snapshot: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Each engine's findings on the book."""
    return {engine: run(engine, book_url, book_snapshot) for engine in ENGINES}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_book_gives_every_planted_finding_and_nothing_else(
    found: dict[str, dict[str, list[dict[str, Any]]]], engine: str,
) -> None:
    got = {rule: {r["subject"]: r["amount"] for r in rows} for rule, rows in found[engine].items()}
    want = {rule: {subject: parse_fen(amount) for subject, (amount, _) in cases.items()}
            for rule, cases in book.FINDINGS.items()}
    assert got == want


@pytest.mark.parametrize("rule", list(book.NEAR_MISSES))
def test_each_rule_leaves_its_near_misses_alone(
    found: dict[str, dict[str, list[dict[str, Any]]]], rule: str,
) -> None:
    flagged = {r["subject"] for r in found["sqlite"][rule]}
    assert flagged == set(book.FINDINGS[rule])
    assert not flagged & set(book.NEAR_MISSES[rule])


def test_reversed_payments_and_their_reversals_never_trigger_a_payment_rule(
    found: dict[str, dict[str, list[dict[str, Any]]]],
) -> None:
    reversed_or_reversals = {n for n, (*_, reverses) in book.PAYMENTS.items() if reverses}
    reversed_or_reversals |= {p[4] for p in book.PAYMENTS.values() if p[4]}
    assert {"D-RX-NR", "D-RX-DEAD-R", "D-C1", "D-OAN2"} <= reversed_or_reversals
    for engine in ENGINES:
        assert not {s for _, s in subjects(found[engine])} & reversed_or_reversals, engine
        related = {n for rows in found[engine].values() for r in rows
                   for n in (r.get("earlier") or "").split(";")}
        assert not related & reversed_or_reversals, engine


@pytest.mark.parametrize("rule", list(funds.QUERIES))
def test_each_rule_gives_the_facts_its_explanations_name_and_its_related_records(
    found: dict[str, dict[str, list[dict[str, Any]]]], rule: str,
) -> None:
    row = found["sqlite"][rule][0]
    facts = set(fund_rules.RULES[rule][1]) - {"payee"}  # the service composes {payee}
    assert {"subject", "amount", *facts, *funds.RELATED[rule]} <= set(row)


def test_a_finding_names_its_related_records(
    found: dict[str, dict[str, list[dict[str, Any]]]],
) -> None:
    rows = {(rule, r["subject"]): r for rule, rs in found["sqlite"].items() for r in rs}
    assert rows[("duplicate_payment", "D-DUP-A2")]["earlier"] == "D-DUP-A1"
    assert rows[("duplicate_payment", "D-DUP-A2")]["days"] == 30
    assert rows[("conflict_of_interest", "D-COI")]["helpers"] == "HLP1"
    assert sorted(rows[("fund_overcommitted", "F-OC")]["projects"].split(";")) == [
        "P-OC1", "P-OC2"]
    assert rows[("idle_funds", "F-IDLE")]["days"] == 366
    assert rows[("payee_ineligible", "D-EX-LATE")]["variant"] == "exited"
    assert rows[("payee_ineligible", "D-ORD")]["variant"] == ""
    assert rows[("payee_not_registered", "D-NR1")]["payee_id_number"] == book.UNKNOWN_ID
    assert rows[("payee_not_registered", "D-NR2")]["payee_household"] == book.UNKNOWN_HOUSEHOLD


@pytest.mark.parametrize("engine", ENGINES)
def test_amounts_are_integer_fen_on_every_engine(book_url: str, book_snapshot: Path,
                                                 engine: str) -> None:
    registry = _open(engine, book_url, book_snapshot)
    try:
        prepared = funds.prepare(registry, funds.Check(RULES, book.AS_OF))
        for rule, query in funds.QUERIES.items():
            schema = query(prepared, funds.Check(RULES, book.AS_OF)).schema()
            assert schema["amount"].is_integer(), rule
            assert not any(t.is_floating() or t.is_decimal() for t in schema.types), rule
    finally:
        backends.close(registry)


@pytest.mark.parametrize(("change", "gained", "lost"), [
    ({"duplicate_window_days": 31}, {("duplicate_payment", "D-DUP-B2")}, set()),
    ({"duplicate_window_days": 29}, set(), {("duplicate_payment", "D-DUP-A2")}),
    ({"years_after_exit": 6}, set(), {("payee_ineligible", "D-EX-LATE")}),
    ({"years_after_exit": 4}, {("payee_ineligible", "D-EX-OK")}, set()),
    ({"idle_days": 366}, set(), {("idle_funds", "F-IDLE"), ("stalled_project", "P-STALL")}),
    ({"idle_days": 364}, {("idle_funds", "F-IDLE-OK"), ("stalled_project", "P-STALL-OK")},
     set()),
])
def test_the_thresholds_of_the_rules_file_decide(
    book_url: str, found: dict[str, dict[str, list[dict[str, Any]]]], change: dict[str, int],
    gained: set[tuple[str, str]], lost: set[tuple[str, str]],
) -> None:
    changed = run("sqlite", book_url, rules=dataclasses.replace(RULES, **change))
    before = subjects(found["sqlite"])
    assert subjects(changed) == (before | gained) - lost


def test_the_books_are_read_as_they_stood_on_the_day_of_the_check(book_url: str) -> None:
    early = subjects(run("sqlite", book_url, as_of=date(2026, 3, 2)))
    assert ("duplicate_payment", "D-DUP-A2") not in early  # paid on 2026-03-03
    assert ("over_budget", "P-OB") in early  # paid on 2026-02-01
    assert ("fund_overcommitted", "F-OC") not in early  # received in September


@pytest.mark.parametrize(("prefix", "expected"), [
    ("621121002", book.IN_TOWN2),
    ("621121001", {(rule, s) for rule, cases in book.FINDINGS.items() for s in cases
                   if (rule, s) not in book.IN_TOWN2 and not s.startswith("F-")}),
    ("621121001002", {("outside_region", "D-OUT")}),  # the payee's village
])
def test_the_region_is_a_filter_of_every_query(book_url: str, prefix: str,
                                               expected: set[tuple[str, str]]) -> None:
    assert subjects(run("sqlite", book_url, prefix=prefix)) == expected


def test_the_region_is_in_the_sql_not_applied_afterwards(book_url: str) -> None:
    registry = backends.open_store(book_url)
    try:
        check = funds.Check(RULES, book.AS_OF, scope_prefix="621121002")
        prepared = funds.prepare(registry, check)
        for rule, query in funds.QUERIES.items():
            assert "621121002" in ibis.to_sql(query(prepared, check)), rule
    finally:
        backends.close(registry)


@pytest.fixture
def clean_url(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The registry with a clean book: money received, allocated and paid as it should be,
    a payment reversed and paid again."""
    rows = book.book_rows({
        "D1": ("P1", "GOOD_HEAD", "400.00", "2026-02-01", None),
        "D2": ("P1", "household:HH", "400.00", "2026-02-01", None),
        "D3": ("P1", "A_HEAD", "200.00", "2026-02-01", None),
        "D3R": ("P1", "A_HEAD", "-200.00", "2026-02-02", "D3"),
        "D4": ("P1", "A_HEAD", "200.00", "2026-02-03", None),
    })
    rows[Kind.FUNDS] = [dict(rows[Kind.FUNDS][0], amount="1000.00",
                                  received_on="2026-01-01")]
    rows[Kind.PROJECTS] = [dict(p, budget="1000.00") for p in rows[Kind.PROJECTS]
                                if p["number"] == "P1"]
    rows[Kind.ALLOCATIONS] = [{"fund": "F1", "project": "P1", "amount": "1000.00",
                                    "allocated_on": "2026-01-01"}]
    yield book.sqlite_store(tmp_path, sqlite_template, rows)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_clean_book_gives_no_finding_at_all(clean_url: str, tmp_path: Path,
                                              engine: str) -> None:
    snapshot = tmp_path / "snapshot"
    write_snapshot(clean_url, snapshot, taken_at=datetime(2026, 11, 29, tzinfo=UTC))
    assert subjects(run(engine, clean_url, snapshot)) == set()


def test_a_snapshot_older_than_the_books_still_opens_but_cannot_be_checked(
    book_snapshot: Path, tmp_path: Path,
) -> None:
    old = tmp_path / "old"
    shutil.copytree(book_snapshot, old)
    for name in backends.BOOKS_TABLES:
        shutil.rmtree(old / name)
    registry = backends.open_snapshot(old)
    try:
        assert registry.fund is None and registry.member.count().execute() > 0
        with pytest.raises(ConfigurationError, match="take a new snapshot"):
            funds.run(registry, funds.Check(RULES, book.AS_OF))
    finally:
        backends.close(registry)
