"""The funds checks (`tuopin funds check`): the rules of domain/data/fund_rules.toml run by
analytics.funds on DuckDB or on the store's own database, as findings explained in zh and en.

A finding is about one payment, project or fund (its subject), names the related records by
their numbers, and says in both languages why it was flagged. The caller's region is a
filter of every rule's query; a citizen ID in an explanation is masked for a caller who
does not see identifiers.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from tuopin.domain import fund_rules
from tuopin.domain.enums import HouseholdStatus, ProjectStatus
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.fen import fen_text
from tuopin.domain.fund_rules import FundRules, Severity, SubjectKind, Text
from tuopin.i18n import translate
from tuopin.services.access.masking import mask_id
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import DisbursementRecord, MemberRecord

ENGINES = ("auto", "db", "duckdb")
# Past this many members and payments together, ``auto`` has DuckDB read a Parquet snapshot
# (streamed from disk) rather than Arrow tables held in memory.
AUTO_SNAPSHOT_ROWS = 2_000_000
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
LISTS = frozenset({"earlier", "helpers", "people", "funds", "projects"})  # ';'-joined
SEPARATORS = {"zh": "、", "en": ", "}
ENUMS: dict[str, Any] = {"status": ProjectStatus, "household_status": HouseholdStatus}


@dataclass(frozen=True)
class Finding:
    """One anomaly: a rule broken by a payment, project or fund."""

    rule: str
    severity: Severity
    subject: str  # the number of the payment, project or fund
    subject_kind: SubjectKind
    amount: str  # yuan with two decimals ("1234.50"): the money the finding is about
    explanation: Text  # zh and en
    related: list[str]  # numbers of related records (payments, projects, funds,
    # households, helpers)

    def explained(self, lang: str | None) -> str:
        """The explanation in ``lang`` (zh or en)."""
        return self.explanation.get(lang)

    def as_row(self, lang: str | None) -> dict[str, Any]:
        """The finding as plain data with exactly the keys of the JSON output."""
        return {"rule": self.rule, "severity": self.severity.value, "subject": self.subject,
                "subject_kind": self.subject_kind.value, "amount": self.amount,
                "explanation": self.explained(lang), "related": list(self.related)}


@reads(Action.CHECK_FUNDS)
def check(engine: Engine | Connection, *, principal: Principal, as_of: date,
          rules: FundRules | None = None, engine_name: str = "auto",
          snapshot: Path | None = None) -> list[Finding]:
    """Every finding of the rules on the books as they stood on ``as_of``, in the
    principal's region, by rule (in the file's order) and subject. The rules read the store
    on their own connections (``engine``, or the engine of a session's connection)."""
    from tuopin.analytics import funds  # Ibis and DuckDB: only a check needs them

    engine = engine.engine if isinstance(engine, Connection) else engine
    rules = rules or fund_rules.load()
    plan = funds.Check(rules, as_of, scope_prefix=principal.scope.prefix)
    with _registry(engine, choose_engine(engine, engine_name, snapshot), snapshot) as registry:
        rows = funds.run(registry, plan)
    found: list[Finding] = []
    for rule in rules.rules:
        for row in sorted(rows[rule.id], key=lambda r: r["subject"]):
            found.append(_finding(rule, row, rules, funds.RELATED[rule.id],
                                  clear=principal.sees_identifiers))
    return found


def choose_engine(engine: Engine, requested: str, snapshot: Path | None) -> str:
    """``db``: the store's own database; ``duckdb``: a Parquet snapshot (the one given, else
    a fresh one); ``auto``: DuckDB over the snapshot given, else over Arrow tables read from
    a small store (``arrow``), else over a fresh snapshot."""
    if requested not in ENGINES:
        raise ValidationFailed(f"unknown engine {requested!r}; use one of {', '.join(ENGINES)}")
    if requested == "db":
        if snapshot is not None:
            raise ValidationFailed("--snapshot is read by DuckDB: use --engine duckdb or auto")
        return "db"
    if requested == "duckdb" or snapshot is not None:
        return "duckdb"
    with engine.connect() as conn:
        rows = sum(conn.execute(select(func.count()).select_from(table)).scalar_one()
                   for table in (MemberRecord, DisbursementRecord))
    return "duckdb" if rows > AUTO_SNAPSHOT_ROWS else "arrow"


@contextmanager
def _registry(engine: Engine, name: str, snapshot: Path | None) -> Iterator[Any]:
    from tuopin.analytics import backends
    from tuopin.analytics.funds import BOOKS
    from tuopin.storage.snapshot import read_tables, write_snapshot

    url = engine.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="tuopin-funds-") as scratch:
        if name == "db":
            registry = backends.open_store(url)
        elif name == "arrow":
            registry = backends.open_arrow(read_tables(url, BOOKS))
        else:
            folder = snapshot
            if folder is None:
                folder = Path(scratch) / "snapshot"
                write_snapshot(url, folder, taken_at=datetime.now(UTC))
            registry = backends.open_snapshot(folder, engine="duckdb")
        try:
            yield registry
        finally:
            backends.close(registry)


def _finding(rule: fund_rules.FundRule, row: dict[str, Any], rules: FundRules,
             related: tuple[str, ...], *, clear: bool) -> Finding:
    numbers: list[str] = []
    for column in related:
        value = row.get(column)
        if value:
            parts = sorted(set(value.split(";"))) if column in LISTS else [value]
            numbers.extend(p for p in parts if p not in numbers)
    template = rule.explanation(row.get("variant"))
    return Finding(
        rule=rule.id, severity=rule.severity, subject=row["subject"],
        subject_kind=rule.subject_kind, amount=fen_text(row["amount"]),
        explanation=Text(zh=_fill(template.zh, row, rules, "zh", clear=clear),
                         en=_fill(template.en, row, rules, "en", clear=clear)),
        related=numbers)


def _fill(template: str, row: dict[str, Any], rules: FundRules, lang: str, *,
          clear: bool) -> str:
    facts = {**rules.thresholds, "number": row["subject"], "payee": _payee(row, clear)}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return _text(name, facts[name] if name in facts else row[name], lang)

    return PLACEHOLDER.sub(value, template)


def _payee(row: dict[str, Any], clear: bool) -> str | None:
    """Whom a payment went to: a name, else the numbers typed (an ID masked unless
    ``clear``)."""
    if row.get("payee"):
        return str(row["payee"])
    typed = [row.get("payee_id_number"), row.get("payee_household")]
    if typed[0] and not clear:
        typed[0] = mask_id(typed[0])
    return " / ".join(t for t in typed if t) or None


def _text(name: str, value: Any, lang: str) -> str:
    if value is None:
        return ""
    if name in fund_rules.MONEY_FACTS:
        return fen_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if name in ENUMS:
        return translate(ENUMS[name].of(value).title, lang)
    if name in LISTS:
        return SEPARATORS[lang].join(sorted(set(str(value).split(";"))))
    return str(value)
