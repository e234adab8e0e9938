"""Village and county exit checks (出列 / 摘帽): every criterion, its figure and its verdict.

Incidence comes from an assessment run (poor people ÷ people, reports.incidence). For
counties, the third-party evaluation's 错退率, 漏评率, 认可度 and 综合贫困发生率 (composite
incidence, which then replaces the run's incidence) come from the county's latest closed
third-party verification plan (services.verification: its estimates, their 95 % intervals
and verdicts, and the plan named as the basis), or - for figures of an outside evaluator -
from a verification file, which takes precedence for the counties it names. A criterion
without a figure is "pending", never a pass, and each criterion is a veto
(data/exit_criteria.toml names the thresholds and their sources). The outcome judges the
figure, as the evaluation's rules do; the interval's own verdict (pass, fail, undecided)
stands beside it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import exit_criteria, gb2260, regions
from tuopin.domain.errors import Message, RuleBroken
from tuopin.domain.exit_criteria import ExitLevel
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.services.access.policy import Action, allows, reads
from tuopin.services.access.principal import Principal
from tuopin.services.reports import incidence as reports
from tuopin.services.verification import estimates as verification_estimates
from tuopin.storage.models import AssessmentResultRecord, AssessmentRunRecord, RegionRecord
from tuopin.storage.scope import in_region

VERIFICATION_FIGURES = ("wrong_exit_rate", "missed_rate", "approval_rate",
                        "composite_incidence")
Verification = Mapping[str, Mapping[str, float]]
ROW_COLUMNS = ["code", "name", "western", "criterion", "title", "figure", "interval",
               "threshold", "outcome", "interval_verdict", "verdict", "basis", "source"]
FROM_FILE = "verification file"


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


@dataclass(frozen=True)
class Verified:
    """A county's verification figures and where they come from: a closed plan (with each
    figure's interval and verdict) or a file."""

    figures: Mapping[str, float]
    basis: str
    plan: dict[str, Any] | None = None
    intervals: Mapping[str, list[float] | None] = field(default_factory=dict)
    verdicts: Mapping[str, str] = field(default_factory=dict)


def _from_plan(found: Mapping[str, Any]) -> Verified:
    measured = {m["measure"]: m for m in found["measures"]}
    return Verified(
        figures={k: m["estimate"] for k, m in measured.items() if m["estimate"] is not None},
        basis=f"verification plan {found['plan']}",
        plan={k: found[k] for k in ("plan", "year", "kind", "closed_on")},
        intervals={k: m["ci95"] for k, m in measured.items()},
        verdicts={k: m["verdict"] for k, m in measured.items()})


def _criterion_row(criterion: Any, figure: float | None, outcome: Any, basis: str,
                   verified: Verified | None, name: str, western: bool) -> dict[str, Any]:
    """One criterion's row; ``verified`` when its figure is the verification's."""
    return {"criterion": criterion.id, "title_zh": criterion.title("zh"),
            "title_en": criterion.title("en"), "figure": figure,
            "interval": verified.intervals.get(name) if verified else None,
            "threshold": criterion.describe(western=western), "outcome": outcome.value,
            "interval_verdict": verified.verdicts.get(name) if verified else None,
            "basis": basis, "source": criterion.source}


def _judge(region: dict[str, Any], level: ExitLevel, western: bool, run_id: int,
           verified: Verified) -> dict[str, Any]:
    judged, rows = [], []
    for criterion in exit_criteria.criteria(level):
        name, used = criterion.id, None
        if criterion.id == "incidence":
            figure, basis, name = region["incidence"], f"run {run_id}", "composite_incidence"
            if level is ExitLevel.COUNTY and name in verified.figures:
                figure, basis, used = (verified.figures[name], f"{verified.basis} (composite)",
                                       verified)
        else:
            figure = verified.figures.get(criterion.id)
            basis, used = ((verified.basis, verified) if figure is not None
                           else ("not yet verified", None))
        outcome = criterion.judge(figure, western=western)
        judged.append((criterion, outcome))
        rows.append(_criterion_row(criterion, figure, outcome, basis, used, name, western))
    return {"code": region["code"], "name": region["name"], "western": western,
            "people": region["people"], "poor_people": region["poor_people"],
            "verdict": exit_criteria.verdict(judged).value, "verification": verified.plan,
            "criteria": rows}


def _verified(db: Session, principal: Principal, codes: list[str],
              files: Mapping[str, Mapping[str, float]]) -> dict[str, Verified]:
    """Each county's figures: from the file where it names the county, else from the
    county's latest closed third-party plan (when the reader may see plans)."""
    found = {code: Verified(figures, FROM_FILE) for code, figures in files.items()}
    rest = [code for code in codes if code not in found]
    if rest and allows(principal, Action.READ_VERIFICATION):
        closed = verification_estimates.latest_closed(db, principal=principal, counties=rest)
        found.update({code: _from_plan(estimated) for code, estimated in closed.items()})
    return found


@reads()
def check(db: Session, *, principal: Principal, level: str, run_id: int,
          verification: Verification | None = None) -> list[dict[str, Any]]:
    """Each village or county in scope: every criterion (figure, threshold, outcome), verdict;
    a county's verification figures from its latest closed plan, or from ``verification``."""
    try:
        exit_level = ExitLevel(level)
    except ValueError:
        raise RuleBroken(N_("unknown exit level {level}; use village or county"),
                         level=repr(level)) from None
    files = {regions.normalize(k): v for k, v in (verification or {}).items()}
    incidence = reports.incidence(db, principal=principal, run_id=run_id,
                                  level=exit_level.value)
    western = _western(db, [r["code"] for r in incidence])
    verified = (_verified(db, principal, [r["code"] for r in incidence], files)
                if exit_level is ExitLevel.COUNTY else {})
    nothing = Verified({}, "not yet verified")
    return [_judge(r, exit_level, western[r["code"][:2]], run_id,
                   verified.get(r["code"], nothing))
            for r in incidence]


NATIONAL = "cn-national"


def _newest_run(db: Session, county: str) -> int | None:
    """The newest run (a cn-national one first: its year, then its id) with results in
    ``county``."""
    r, a = AssessmentRunRecord, AssessmentResultRecord
    inside = select(a.id).where(a.run_id == r.id,
                                in_region(Scope(county), a.village_code)).exists()
    return db.scalar(select(r.id).where(inside).order_by(
        (r.standard_name == NATIONAL).desc(), r.year.desc(), r.id.desc()).limit(1))


@reads()
def county_check(db: Session, *, principal: Principal, county: str) -> dict[str, Any] | None:
    """The county exit check of ``county`` (its verification as ``check`` takes it) on the
    newest assessment run with results there; None without such a run, or outside the
    principal's reach."""
    code = regions.normalize(county)
    run = _newest_run(db, code)
    if run is None:
        return None
    reader = principal.within(code) if principal.scope.covers(code) else principal
    found = check(db, principal=reader, level="county", run_id=run)
    return next(({**c, "run": run} for c in found if c["code"] == code), None)


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
