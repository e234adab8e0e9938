"""The rules of the funds checks as data (data/fund_rules.toml): thresholds, severities and
explanations, each with its source; a county's own file overrides the keys it gives.

What each rule means is fixed by its id (analytics.funds holds the query of each); the file
decides how strict the thresholds are, how grave a finding is and how it is explained.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from tuopin.domain.errors import ValidationFailed

SHIPPED = "fund_rules.toml"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SubjectKind(StrEnum):
    """What a finding is about: one payment, one project or one fund."""

    DISBURSEMENT = "disbursement"
    PROJECT = "project"
    FUND = "fund"


THRESHOLDS = ("duplicate_window_days", "years_after_exit", "idle_days")
PAYMENT_FACTS = ("project", "paid_on")
# The rules in the order findings are listed, what each is about, and the facts its
# templates may name besides {number}, {amount} and the thresholds.
RULES: dict[str, tuple[SubjectKind, tuple[str, ...]]] = {
    "payee_not_registered": (SubjectKind.DISBURSEMENT, (*PAYMENT_FACTS, "payee")),
    "payee_deceased": (SubjectKind.DISBURSEMENT,
                       (*PAYMENT_FACTS, "household", "name", "deceased_date")),
    "duplicate_payment": (SubjectKind.DISBURSEMENT,
                          (*PAYMENT_FACTS, "household", "payee", "earlier", "days")),
    "payee_ineligible": (SubjectKind.DISBURSEMENT,
                         (*PAYMENT_FACTS, "household", "household_status", "year_exited")),
    "outside_region": (SubjectKind.DISBURSEMENT,
                       (*PAYMENT_FACTS, "household", "village", "village_code", "region",
                        "region_code")),
    "conflict_of_interest": (SubjectKind.DISBURSEMENT,
                             (*PAYMENT_FACTS, "household", "village", "people", "helpers")),
    "over_budget": (SubjectKind.PROJECT, ("budget", "net", "funds")),
    "over_allocation": (SubjectKind.PROJECT, ("allocated", "net", "funds")),
    "fund_overcommitted": (SubjectKind.FUND, ("fund_amount", "allocated", "projects")),
    "idle_funds": (SubjectKind.FUND,
                   ("fund_amount", "allocated", "received_on", "days", "projects")),
    "stalled_project": (SubjectKind.PROJECT,
                        ("allocated", "allocated_on", "days", "status", "funds")),
    "project_overdue": (SubjectKind.PROJECT,
                        ("end_on", "days", "status", "net", "allocated", "funds")),
}
# Facts that are amounts (integer fen, shown as yuan with two decimals).
MONEY_FACTS = frozenset({"amount", "budget", "net", "allocated", "fund_amount"})
# Variants of an explanation a rule's query may choose (``explain_<variant>`` in the file).
VARIANTS: dict[str, tuple[str, ...]] = {"payee_ineligible": ("exited",)}
RULE_KEYS = frozenset({"id", "severity", "title", "explain", "source"})


@dataclass(frozen=True)
class Text:
    """A text in both languages."""

    zh: str
    en: str

    def get(self, lang: str | None) -> str:
        """The text in ``lang`` (zh unless it is English)."""
        return self.en if (lang or "").lower().startswith("en") else self.zh


@dataclass(frozen=True)
class FundRule:
    id: str
    subject_kind: SubjectKind
    severity: Severity
    title: Text
    explain: dict[str, Text]  # "" is the default explanation, else a variant's name
    source: str

    def explanation(self, variant: str | None = None) -> Text:
        """The template of ``variant`` (the default when None or unknown to this rule)."""
        return self.explain.get(variant or "", self.explain[""])


@dataclass(frozen=True)
class FundRules:
    """The thresholds and the twelve rules, as shipped or as a county's file changed them."""

    duplicate_window_days: int
    years_after_exit: int
    idle_days: int
    sources: dict[str, str]
    rules: tuple[FundRule, ...]
    origin: str = SHIPPED  # which files the values came from
    by_id: dict[str, FundRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {r.id: r for r in self.rules})

    def rule(self, rule_id: str) -> FundRule:
        return self.by_id[rule_id]

    @property
    def thresholds(self) -> dict[str, int]:
        """The thresholds by name, as templates name them."""
        return {name: getattr(self, name) for name in THRESHOLDS}


def shipped_text() -> str:
    """The shipped rules file."""
    return (resources.files("tuopin.domain") / "data" / SHIPPED).read_text("utf-8")


def load(path: Path | None = None) -> FundRules:
    """The shipped rules, with the keys ``path`` gives (a county's own file) replacing them."""
    base = _parse(shipped_text(), SHIPPED)
    _check(base, SHIPPED, complete=True)
    if path is None:
        return _build(base, SHIPPED)
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"{path}: no such rules file")
    override = _parse(path.read_text(encoding="utf-8"), str(path))
    _check(override, str(path), complete=False)
    for name in override.get("thresholds", {}):
        if name not in override.get("sources", {}):
            raise _fail(str(path), f"sources.{name}",
                        "a threshold set here needs its source here too")
    merged = _merge(base, override)
    _check(merged, str(path), complete=True)
    return _build(merged, f"{SHIPPED} + {path}")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValidationFailed(f"{source}: not a TOML file: {error}") from error


def _fail(source: str, key: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{source}: {key}: {message}")


def _check(data: dict[str, Any], source: str, *, complete: bool) -> None:
    """Every key known and of its type; ``complete``: nothing missing either."""
    for key in data:
        if key not in ("thresholds", "sources", "rule"):
            raise _fail(source, key, "unknown key; a rules file has thresholds, sources and "
                                     "[[rule]] tables")
    for table in ("thresholds", "sources"):
        values = data.get(table, {})
        if not isinstance(values, dict):
            raise _fail(source, table, "must be a table")
        for name, value in values.items():
            where = f"{table}.{name}"
            if name not in THRESHOLDS:
                raise _fail(source, where, f"unknown threshold; known: {', '.join(THRESHOLDS)}")
            if table == "thresholds" and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 0):
                raise _fail(source, where, f"must be a whole number of at least 0, not {value!r}")
            if table == "sources" and not (isinstance(value, str) and value.strip()):
                raise _fail(source, where, "must be a text naming the source")
        if complete:
            for name in THRESHOLDS:
                if name not in values:
                    raise _fail(source, f"{table}.{name}", "missing")
    rules = data.get("rule", [])
    if not isinstance(rules, list):
        raise _fail(source, "rule", "must be [[rule]] tables")
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        _check_rule(rule, source, f"rule[{index}]", complete=complete)
        if rule["id"] in seen:
            raise _fail(source, f"rule[{index}].id", f"{rule['id']!r} is given twice")
        seen.add(rule["id"])
    if complete and seen != set(RULES):
        missing = ", ".join(r for r in RULES if r not in seen)
        raise _fail(source, "rule", f"missing rules: {missing}")


def _check_rule(rule: Any, source: str, where: str, *, complete: bool) -> None:
    if not isinstance(rule, dict):
        raise _fail(source, where, "must be a table")
    rule_id = rule.get("id")
    if rule_id not in RULES:
        raise _fail(source, f"{where}.id", f"{rule_id!r} is not a rule; the rules are "
                                           f"{', '.join(RULES)}")
    where = f"rule[{rule_id}]"
    variants = VARIANTS.get(rule_id, ())
    allowed = RULE_KEYS | {f"explain_{v}" for v in variants}
    for key, value in rule.items():
        if key not in allowed:
            raise _fail(source, f"{where}.{key}",
                        f"unknown key; known: {', '.join(sorted(allowed))}")
        if key == "severity" and value not in set(Severity):
            raise _fail(source, f"{where}.severity",
                        f"must be high, medium or low, not {value!r}")
        if key == "source" and not (isinstance(value, str) and value.strip()):
            raise _fail(source, f"{where}.source", "must be a text naming the source")
        if key in ("title",) or key.startswith("explain"):
            _check_text(value, source, f"{where}.{key}", rule_id if key != "title" else None)
    if complete:
        for key in sorted(allowed - {"id"}):
            if key not in rule:
                raise _fail(source, f"{where}.{key}", "missing")


def _check_text(value: Any, source: str, where: str, rule_id: str | None) -> None:
    if not (isinstance(value, dict) and set(value) == {"zh", "en"}
            and all(isinstance(v, str) and v.strip() for v in value.values())):
        raise _fail(source, where, "must be { zh = \"...\", en = \"...\" }")
    if rule_id is None:
        return
    known = {"number", "amount", *THRESHOLDS, *RULES[rule_id][1]}
    for lang, text in value.items():
        for name in PLACEHOLDER.findall(text):
            if name not in known:
                raise _fail(source, f"{where}.{lang}",
                            f"{{{name}}} is not a fact of this rule; it may name "
                            f"{', '.join(sorted(known))}")
        if PLACEHOLDER.sub("", text).count("{") or PLACEHOLDER.sub("", text).count("}"):
            raise _fail(source, f"{where}.{lang}", "a brace that is not a {fact}")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {table: {**base.get(table, {}), **override.get(table, {})}
                              for table in ("thresholds", "sources")}
    changes = {r["id"]: r for r in override.get("rule", [])}
    merged["rule"] = [{**r, **changes.get(r["id"], {})} for r in base["rule"]]
    return merged


def _build(data: dict[str, Any], origin: str) -> FundRules:
    by_id = {r["id"]: r for r in data["rule"]}
    rules = tuple(
        FundRule(
            id=rule_id, subject_kind=kind, severity=Severity(by_id[rule_id]["severity"]),
            title=Text(**by_id[rule_id]["title"]),
            explain={"": Text(**by_id[rule_id]["explain"]),
                     **{v: Text(**by_id[rule_id][f"explain_{v}"])
                        for v in VARIANTS.get(rule_id, ())}},
            source=by_id[rule_id]["source"],
        )
        for rule_id, (kind, _) in RULES.items()
    )
    thresholds = data["thresholds"]
    return FundRules(
        duplicate_window_days=thresholds["duplicate_window_days"],
        years_after_exit=thresholds["years_after_exit"], idle_days=thresholds["idle_days"],
        sources=dict(data["sources"]), rules=rules, origin=origin,
    )
