"""Village and county exit checks (出列 / 摘帽): every criterion, its figure and its verdict.

Incidence comes from an assessment run (poor people ÷ people, reports.incidence). For
counties, the third-party evaluation's 错退率, 漏评率 and 认可度 come from a verification
file until the verification module exists; a criterion without a figure is "pending", never
a pass, and each criterion is a veto (data/exit_criteria.toml names the thresholds and their
sources). A county's verification may also give the 综合贫困发生率 (composite incidence),
which then replaces the run's incidence.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import exit_criteria, gb2260, regions
from tuopin.domain.errors import Message, RuleBroken
from tuopin.domain.exit_criteria import ExitLevel
from tuopin.i18n import N_
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.reports import incidence as reports
from tuopin.storage.models import RegionRecord

VERIFICATION_FIGURES = ("wrong_exit_rate", "missed_rate", "approval_rate",
                        "composite_incidence")
Verification = Mapping[str, Mapping[str, float]]
ROW_COLUMNS = ["code", "name", "western", "criterion", "title", "figure", "threshold",
               "outcome", "verdict", "basis", "source"]


def _western(db: Session, codes: list[str]) -> dict[str, bool]:
    """Province prefix -> western flag: the region file's flag, else GB/T 2260's list."""
    prefixes = sorted({c[:2] for c in codes})
    flags = dict(db.execute(select(RegionRecord.code, RegionRecord.western).where(
        RegionRecord.code.in_([p.ljust(12, "0") for p in prefixes]))).all())
    found = {}
    for prefix in prefixes:
        flag = flags.get(prefix.ljust(12, "0"))
        found[prefix] = gb2260.is_western(prefix) if flag is None else bool(flag)
    return found


def _judge(region: dict[str, Any], level: ExitLevel, western: bool, run_id: int,
           figures: Mapping[str, float]) -> dict[str, Any]:
    judged, rows = [], []
    for criterion in exit_criteria.criteria(level):
        basis = f"run {run_id}"
        if criterion.id == "incidence":
            figure = region["incidence"]
            if level is ExitLevel.COUNTY and "composite_incidence" in figures:
                figure, basis = figures["composite_incidence"], "verification (composite)"
        else:
            figure = figures.get(criterion.id)
            basis = "verification" if figure is not None else "not yet verified"
        outcome = criterion.judge(figure, western=western)
        judged.append((criterion, outcome))
        rows.append({"criterion": criterion.id, "title_zh": criterion.title("zh"),
                     "title_en": criterion.title("en"), "figure": figure,
                     "threshold": criterion.describe(western=western),
                     "outcome": outcome.value, "basis": basis, "source": criterion.source})
    return {"code": region["code"], "name": region["name"], "western": western,
            "people": region["people"], "poor_people": region["poor_people"],
            "verdict": exit_criteria.verdict(judged).value, "criteria": rows}


@reads()
def check(db: Session, *, principal: Principal, level: str, run_id: int,
          verification: Verification | None = None) -> list[dict[str, Any]]:
    """Each village or county in scope: every criterion (figure, threshold, outcome), verdict."""
    try:
        exit_level = ExitLevel(level)
    except ValueError:
        raise RuleBroken(N_("unknown exit level {level}; use village or county"),
                         level=repr(level)) from None
    figures = {regions.normalize(k): v for k, v in (verification or {}).items()}
    incidence = reports.incidence(db, principal=principal, run_id=run_id,
                                  level=exit_level.value)
    western = _western(db, [r["code"] for r in incidence])
    return [_judge(r, exit_level, western[r["code"][:2]], run_id,
                   figures.get(r["code"], {}) if exit_level is ExitLevel.COUNTY else {})
            for r in incidence]


def flat_rows(checked: list[dict[str, Any]], *, lang: str = "zh") -> list[dict[str, Any]]:
    """One row per region and criterion (for tables, CSV and XLSX), titles in ``lang``."""
    title = "title_en" if lang.startswith("en") else "title_zh"
    return [{"code": region["code"], "name": region["name"], "western": region["western"],
             "verdict": region["verdict"], **criterion, "title": criterion[title]}
            for region in checked for criterion in region["criteria"]]


def _rate(value: Any, where: object) -> float | None:
    """A rate as a fraction: 0.015, '0.015' or '1.5%'; empty means not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    try:
        rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise RuleBroken(N_("{where}: {value} is not a rate"), where=where,
                         value=repr(value)) from None
    if not 0 <= rate <= 1:
        raise RuleBroken(N_("{where}: {value} is not between 0 and 1 (or 0% and 100%)"),
                         where=where, value=repr(value))
    return rate


def _figures(row: Mapping[str, Any], where: Message) -> dict[str, float]:
    found = {}
    for name in VERIFICATION_FIGURES:
        rate = _rate(row.get(name), Message("{where}, {figure}", where=where, figure=name))
        if rate is not None:
            found[name] = rate
    return found


def read_verification(path: Path) -> dict[str, dict[str, float]]:
    """Verification figures per county from CSV (a ``code`` column) or JSON (list or map)."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        items = (list(data.items()) if isinstance(data, dict)
                 else [(row.get("code"), row) for row in data])
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            items = [(row.get("code"), row) for row in csv.DictReader(handle)]
    found: dict[str, dict[str, float]] = {}
    for index, (code, row) in enumerate(items, start=1):
        where = Message(N_("{file}, entry {entry}"), file=path.name, entry=index)
        if not code or not isinstance(row, Mapping):
            raise RuleBroken(N_("{where}: every entry needs a region code and its figures"),
                             where=where)
        normalized = regions.normalize(str(code))
        try:
            regions.level_of(normalized)
        except regions.RegionCodeError:
            raise RuleBroken(N_("{where}: {code} is not a region code"), where=where,
                             code=repr(code)) from None
        found[normalized] = _figures(row, where)
    return found
