"""The funds checks as a service: findings with their subject, amount, related records and
explanation in both languages, in the caller's region, for the roles that supervise, and the
same on every engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

import funds_check_book as book
from factories import operator, user
from tuopin.domain import fund_rules
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied, ValidationFailed
from tuopin.domain.fund_rules import Severity, SubjectKind
from tuopin.services.access.masking import mask_id
from tuopin.services.funds import checks
from tuopin.services.funds.checks import Finding, check
from tuopin.storage.db import make_engine
from tuopin.storage.snapshot import write_snapshot

KEYS = ["rule", "severity", "subject", "subject_kind", "amount", "explanation", "related"]


@pytest.fixture(scope="module")
def book_engine(sqlite_template: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite store holding the book, loaded once for this module."""
    url = book.sqlite_store(tmp_path_factory.mktemp("funds_checks"), sqlite_template)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def findings(book_engine: Engine) -> list[Finding]:
    return check(book_engine, principal=operator(), as_of=book.AS_OF)


def by_key(found: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.rule, f.subject): f for f in found}


@pytest.mark.parametrize("rule", list(book.FINDINGS))
def test_every_rule_flags_its_case_with_its_subject_amount_and_related_records(
    findings: list[Finding], rule: str,
) -> None:
    rules = fund_rules.load()
    mine = [f for f in findings if f.rule == rule]
    assert {f.subject: (f.amount, f.related) for f in mine} == book.FINDINGS[rule]
    assert not {f.subject for f in mine} & set(book.NEAR_MISSES[rule])
    for finding in mine:
        assert finding.severity is rules.rule(rule).severity
        assert finding.subject_kind is rules.rule(rule).subject_kind
        assert finding.explained("zh") and finding.explained("en")
        assert "{" not in finding.explained("zh") + finding.explained("en")


def test_findings_come_by_rule_in_the_file_s_order_then_by_subject(
    findings: list[Finding],
) -> None:
    order = list(fund_rules.RULES)
    keys = [(order.index(f.rule), f.subject) for f in findings]
    assert keys == sorted(keys)
    assert len(findings) == sum(len(cases) for cases in book.FINDINGS.values())


@pytest.mark.parametrize(("rule", "subject", "zh", "en"), [
    ("payee_deceased", "D-DEAD", ["D_HEAD", "2026-03-10", "去世", "300.00 元"],
     ["died on 2026-03-10", "300.00 yuan"]),
    ("duplicate_payment", "D-DUP-A2", ["D-DUP-A1", "30 天"], ["30 day(s) after", "D-DUP-A1"]),
    ("duplicate_payment", "D-HH2", [book.NUMBERS["HH"]], ["same payee " + book.NUMBERS["HH"]]),
    ("payee_ineligible", "D-ORD", ["一般农户", "从未"], ["never identified"]),
    ("payee_ineligible", "D-EX-LATE", ["2020 年已脱贫", "5 年过渡期"],
     ["exited in 2020", "5-year transition"]),
    ("outside_region", "D-OUT", ["西关村", "东关村"], ["西关村 (621121001002)"]),
    ("conflict_of_interest", "D-COI", ["帮扶CAD_SPOUSE", "东关村"], ["is a helper"]),
    ("over_budget", "P-OB", ["1000.01", "1000.00", "0.01"], ["1000.01 yuan net"]),
    ("fund_overcommitted", "F-OC", ["1000.01"], ["0.01 yuan more"]),
    ("idle_funds", "F-IDLE", ["2025-11-28", "366 天", "6000.00"], ["366 days later"]),
    ("stalled_project", "P-STALL", ["5000.00", "366"], ["paid nothing in 366 days"]),
    ("project_overdue", "P-LATE", ["2026-11-28", "1 天", "2000.00"], ["overdue by 1 day(s)"]),
])
def test_each_explanation_says_why_in_zh_and_en(findings: list[Finding], rule: str,
                                                subject: str, zh: list[str],
                                                en: list[str]) -> None:
    finding = by_key(findings)[(rule, subject)]
    for words in zh:
        assert words in finding.explained("zh")
    for words in en:
        assert words in finding.explained("en")


def test_a_finding_as_a_row_has_exactly_the_keys_of_the_json_output(
    findings: list[Finding],
) -> None:
    row = by_key(findings)[("duplicate_payment", "D-DUP-A2")].as_row("en")
    assert list(row) == KEYS
    assert row["amount"] == "500.00" and row["severity"] == "high"
    assert row["subject_kind"] == "disbursement" and row["related"][0] == "D-DUP-A1"
    assert json.loads(json.dumps(row)) == row  # plain JSON: strings and a list of strings


def test_a_citizen_id_is_masked_for_a_caller_who_does_not_see_identifiers(
    book_engine: Engine, findings: list[Finding],
) -> None:
    full = by_key(findings)[("payee_not_registered", "D-NR1")]
    assert book.UNKNOWN_ID in full.explained("zh")
    auditor = check(book_engine, principal=user(Role.AUDITOR), as_of=book.AS_OF)
    masked = by_key(auditor)[("payee_not_registered", "D-NR1")]
    assert book.UNKNOWN_ID not in masked.explained("zh") + masked.explained("en")
    assert mask_id(book.UNKNOWN_ID) in masked.explained("zh")


@pytest.mark.parametrize(("town", "expected"), [
    (book.TOWN2, book.IN_TOWN2),
    (book.TOWN1, {(rule, s) for rule, cases in book.FINDINGS.items() for s in cases
                  if (rule, s) not in book.IN_TOWN2 and not s.startswith("F-")}),
])
def test_a_township_officer_sees_only_the_findings_of_their_township(
    book_engine: Engine, town: str, expected: set[tuple[str, str]],
) -> None:
    officer = user(Role.TOWNSHIP_OFFICER, town)
    found = check(book_engine, principal=officer, as_of=book.AS_OF)
    assert set(by_key(found)) == expected


def test_the_operator_narrowed_to_a_region_sees_what_its_officer_sees(
    book_engine: Engine,
) -> None:
    found = check(book_engine, principal=operator(region=book.TOWN2), as_of=book.AS_OF)
    assert set(by_key(found)) == book.IN_TOWN2


@pytest.mark.parametrize("role", [Role.VILLAGE_CADRE, Role.HELPER, Role.VERIFIER])
def test_a_village_cadre_a_helper_and_a_verifier_may_not_check_the_funds(
    book_engine: Engine, role: Role,
) -> None:
    region = book.V1 if role is not Role.VERIFIER else book.COUNTY
    principal = user(role, region, households=frozenset({book.NUMBERS["A"]})
                     if role is Role.HELPER else None)
    with pytest.raises(PermissionDenied):
        check(book_engine, principal=principal, as_of=book.AS_OF)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COUNTY_OFFICER, Role.AUDITOR])
def test_the_county_and_the_auditor_see_every_finding_of_the_county(
    book_engine: Engine, findings: list[Finding], role: Role,
) -> None:
    found = check(book_engine, principal=user(role, book.COUNTY), as_of=book.AS_OF)
    assert set(by_key(found)) == set(by_key(findings))


def test_a_county_rules_file_changes_severities_and_thresholds(
    book_engine: Engine, tmp_path: Path,
) -> None:
    path = tmp_path / "county.toml"
    path.write_text('[thresholds]\nduplicate_window_days = 31\n[sources]\n'
                    'duplicate_window_days = "县里的规定"\n'
                    '[[rule]]\nid = "project_overdue"\nseverity = "high"\n', encoding="utf-8")
    found = by_key(check(book_engine, principal=operator(), as_of=book.AS_OF,
                         rules=fund_rules.load(path)))
    assert found[("project_overdue", "P-LATE")].severity is Severity.HIGH
    assert ("duplicate_payment", "D-DUP-B2") in found
    assert "31 天内视为重复" in found[("duplicate_payment", "D-DUP-B2")].explained("zh")


def test_engines_agree_on_the_store_s_own_database_and_on_duckdb(
    engine: Engine, tmp_path: Path,
) -> None:
    """SQLite and PostgreSQL (the db_url fixture), each against DuckDB over a snapshot and
    over Arrow tables read from it: the same findings, word for word."""
    book.load(engine, tmp_path)
    snapshot = tmp_path / "snapshot"
    write_snapshot(engine.url.render_as_string(hide_password=False), snapshot,
                   taken_at=datetime(2026, 11, 29, tzinfo=UTC))
    runs = {name: check(engine, principal=operator(), as_of=book.AS_OF,
                        engine_name=name.removesuffix("+snapshot"),
                        snapshot=snapshot if name.endswith("+snapshot") else None)
            for name in ("db", "duckdb", "auto", "duckdb+snapshot")}
    want = {(r, s): (a, rel) for r, cases in book.FINDINGS.items()
            for s, (a, rel) in cases.items()}
    for name, found in runs.items():
        assert {k: (f.amount, f.related) for k, f in by_key(found).items()} == want, name
        assert found == runs["db"], name


def test_auto_reads_arrow_for_a_small_store_and_a_snapshot_for_a_large_one(
    book_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    assert checks.choose_engine(book_engine, "auto", None) == "arrow"
    assert checks.choose_engine(book_engine, "auto", tmp_path) == "duckdb"
    assert checks.choose_engine(book_engine, "duckdb", None) == "duckdb"
    monkeypatch.setattr(checks, "AUTO_SNAPSHOT_ROWS", 10)
    assert checks.choose_engine(book_engine, "auto", None) == "duckdb"


def test_an_unknown_engine_and_a_snapshot_for_the_store_itself_are_refused(
    book_engine: Engine, tmp_path: Path,
) -> None:
    with pytest.raises(ValidationFailed, match="unknown engine 'spark'"):
        check(book_engine, principal=operator(), as_of=book.AS_OF, engine_name="spark")
    with pytest.raises(ValidationFailed, match="--snapshot"):
        check(book_engine, principal=operator(), as_of=book.AS_OF, engine_name="db",
              snapshot=tmp_path)


def test_subject_kinds_follow_the_rules(findings: list[Finding]) -> None:
    kinds = {f.rule: f.subject_kind for f in findings}
    assert kinds["duplicate_payment"] is SubjectKind.DISBURSEMENT
    assert kinds["stalled_project"] is SubjectKind.PROJECT
    assert kinds["idle_funds"] is SubjectKind.FUND
