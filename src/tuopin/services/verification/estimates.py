"""Estimates of a plan: 错退率, 漏评率, 认可度 and the composite incidence, each with its 95 %
interval and a verdict against its exit criterion.

Through the one design-based estimator (analytics.survey), on the design as drawn: weights
the inverse inclusion probabilities, the variance strata of the draw (the villages drawn
with probability in one, each certainty village in its own), villages as PSUs (a certainty
village's households: it represents only itself). Rates in people weight each household
by the size the verifier measured; the approval rate counts households. A figure outside
a measure's frame, or of a household not visited, is missing: a domain exclusion that keeps
the whole design.

Non-response is reported (by frame and by village) and adjusted within the strata it was
drawn in: the weights of the households visited in a village and frame are raised by the
ratio of the weights drawn to the weights visited there. A village and frame with nobody
visited borrows its adjustment from its variance stratum's frame, then from the frame as a
whole (the cells collapsed are counted).

The interval of a proportion is the logit interval of the estimator (R's svyciprop), t on
the design's degrees of freedom. When the sample holds no case at all (or only cases), the
logit interval degenerates to a point; the interval is then the one-sided exact bound on
the Kish effective sample size, 1 - (α/2)^(1/n_eff) (Korn and Graubard 1998), so that
finding nobody is never taken for proof of none.

The verdict: pass when the whole interval lies on the passing side of the threshold, fail
when it lies wholly on the other, undecided when it straddles the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import exit_criteria, gb2260
from tuopin.domain.verification import (
    FRAMES,
    Frame,
    Judgement,
    Measure,
    PlanState,
    Unit,
    VerificationKind,
    measures,
    verdict,
)
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.verification import plans
from tuopin.storage.models import (
    RegionRecord,
    VerificationFindingRecord,
    VerificationPlanRecord,
    VerificationSampleRecord,
)

ALPHA = 0.05
ERRORS = (Judgement.WRONGLY_EXITED.value, Judgement.MISSED_POOR.value)


@dataclass(frozen=True)
class Sample:
    """A plan's sample with its findings, as arrays in the order of the draw."""

    frame: np.ndarray  # Frame values
    village: np.ndarray
    stratum: np.ndarray  # variance strata
    psu: np.ndarray
    weight: np.ndarray  # 1 / probability
    visited: np.ndarray  # bool
    size: np.ndarray  # measured household size (NaN when not visited)
    judgement: np.ndarray  # Judgement values ("" when none)
    approval: np.ndarray  # 1.0, 0.0, NaN

    def __len__(self) -> int:
        return len(self.frame)


def read_sample(db: Session, plan_id: int) -> Sample:
    """A plan's sample joined to its findings."""
    s, f = VerificationSampleRecord, VerificationFindingRecord
    rows = db.execute(
        select(s.frame, s.village_code, s.variance_stratum, s.psu, s.weight, f.visited,
               f.household_size, f.judgement, f.approval)
        .outerjoin(f, f.sample_id == s.id).where(s.plan_id == plan_id)
        .order_by(s.position)).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    return Sample(
        frame=np.array(columns[0], dtype=object), village=np.array(columns[1], dtype=object),
        stratum=np.array(columns[2], dtype=object), psu=np.array(columns[3], dtype=object),
        weight=np.array(columns[4], dtype=np.float64),
        visited=np.array([bool(v) for v in columns[5]], dtype=bool),
        size=np.array([np.nan if v is None else float(v) for v in columns[6]]),
        judgement=np.array([v or "" for v in columns[7]], dtype=object),
        approval=np.array([np.nan if v is None else float(v) for v in columns[8]]))


def _groups(*columns: np.ndarray) -> np.ndarray:
    """Each row's group number over the given columns."""
    keys = np.array(["\x1f".join(map(str, parts)) for parts in zip(*columns, strict=True)],
                    dtype=object)
    return np.unique(keys, return_inverse=True)[1] if len(keys) else np.zeros(0, np.int64)


def adjusted_weights(sample: Sample) -> tuple[np.ndarray, int]:
    """The weights raised for non-response, cell by cell: village × frame, then variance
    stratum × frame, then frame (each level spreads the weight of the cells below it where
    nobody was visited); returns them and the number of village × frame cells with nobody
    visited."""
    weights = sample.weight.copy()
    seen = sample.visited
    cells = _groups(sample.village, sample.frame)
    for group in (cells, _groups(sample.stratum, sample.frame), _groups(sample.frame)):
        drawn = np.bincount(group, weights=sample.weight)
        visited = np.bincount(group[seen], weights=weights[seen], minlength=len(drawn))
        factor = np.divide(drawn, visited, out=np.ones_like(drawn), where=visited > 0)
        weights = np.where(seen, weights * factor[group], weights)
    empty = len(set(cells.tolist()) - set(cells[seen].tolist()))
    return weights, empty


def _y(measure: Measure, sample: Sample) -> np.ndarray:
    """The measure's 0/1 value of each household, NaN outside its frame or not known."""
    judged = np.array([j != "" for j in sample.judgement])
    if measure.id == "wrong_exit_rate":
        y = (sample.judgement == Judgement.WRONGLY_EXITED.value).astype(float)
    elif measure.id == "missed_rate":
        y = (sample.judgement == Judgement.MISSED_POOR.value).astype(float)
    elif measure.id == "approval_rate":
        y = sample.approval.copy()
        judged = ~np.isnan(y)
    else:  # composite incidence: the registered poor, and every error found
        y = ((sample.frame == Frame.REGISTERED.value)
             | np.isin(sample.judgement, ERRORS)).astype(float)
    inside = np.ones(len(sample), dtype=bool) if measure.frame is None else (
        sample.frame == measure.frame.value)
    return np.where(inside & sample.visited & judged, y, np.nan)


def _bound(proportion: float, n_eff: float) -> tuple[float, float]:
    """The exact one-sided bound when no case (or only cases) was found."""
    if n_eff <= 0:
        return (0.0, 1.0)
    edge = (ALPHA / 2) ** (1 / n_eff)
    return (0.0, 1 - edge) if proportion <= 0 else (edge, 1.0)


def _interval(found: Any, y: np.ndarray, weights: np.ndarray) -> tuple[float, float] | None:
    proportion = found.estimate
    if proportion is None or not math.isfinite(proportion):
        return None
    inside = ~np.isnan(y)
    if proportion <= 0 or proportion >= 1:
        w = weights[inside]
        return _bound(proportion, float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else 0.0)
    lo, hi = found.ci95
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return (float(lo), float(hi))


def _estimate(measure: Measure, sample: Sample, weights: np.ndarray, *, western: bool
              ) -> dict[str, Any]:
    from tuopin.analytics.survey import estimate

    criterion = next(c for c in exit_criteria.all_criteria() if c.id == measure.criterion)
    threshold = criterion.threshold_for(western=western)
    y = _y(measure, sample)
    scale = sample.size if measure.unit is Unit.PEOPLE else np.ones(len(sample))
    w = np.where(np.isnan(y), sample.weight, weights * np.nan_to_num(scale, nan=1.0))
    row: dict[str, Any] = {
        "measure": measure.id, "title_zh": measure.title_zh, "title_en": measure.title_en,
        "unit": measure.unit.value, "criterion": criterion.id, "threshold": threshold,
        "comparison": criterion.comparison,
        "threshold_text": criterion.describe(western=western), "n": int((~np.isnan(y)).sum()),
        "estimate": None, "se": None, "ci95": None, "deff": None, "degf": None,
        "verdict": verdict(None, threshold=threshold, comparison=criterion.comparison).value}
    if row["n"] == 0:
        return row
    result = estimate(y, strata=sample.stratum, psu=sample.psu, weights=w, proportion=True,
                      lonely_psu="adjust")
    found = result.proportion
    assert found is not None and found.estimate is not None  # asked for a proportion
    interval = _interval(found, y, w)
    row.update(estimate=float(found.estimate), se=_number(found.se), deff=_number(found.deff),
               degf=int(result.degf), ci95=None if interval is None else list(interval),
               verdict=verdict(interval, threshold=threshold,
                               comparison=criterion.comparison).value)
    return row


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _response(sample: Sample) -> dict[str, Any]:
    def rate(mask: np.ndarray) -> dict[str, Any]:
        drawn, visited = int(mask.sum()), int((mask & sample.visited).sum())
        return {"drawn": drawn, "visited": visited,
                "rate": visited / drawn if drawn else None}

    villages = sorted(set(sample.village.tolist()))
    return {**rate(np.ones(len(sample), dtype=bool)),
            "frames": {f.value: rate(sample.frame == f.value) for f in FRAMES},
            "villages": {v: rate(sample.village == v) for v in villages}}


def western(db: Session, code: str) -> bool:
    """Whether a region lies in the western region: its province's flag, else GB/T 2260."""
    flag = db.scalar(select(RegionRecord.western).where(
        RegionRecord.code == code[:2].ljust(12, "0")))
    return gb2260.is_western(code) if flag is None else bool(flag)


def estimates_of(db: Session, record: VerificationPlanRecord) -> dict[str, Any]:
    """Every measure of a drawn plan, with the response and the adjustment."""
    sample = read_sample(db, record.id)
    weights, empty = adjusted_weights(sample)
    west = western(db, record.region_code)
    return {
        "plan": record.id, "region_code": record.region_code, "year": record.year,
        "kind": record.kind, "state": record.state, "closed_on": record.closed_on,
        "final": record.state == PlanState.CLOSED.value, "western": west,
        "measures": [_estimate(m, sample, weights, western=west) for m in measures()],
        "response": {**_response(sample), "cells_without_visits": empty},
    }


@reads(Action.READ_VERIFICATION)
def estimate(db: Session, *, principal: Principal, plan_id: int) -> dict[str, Any]:
    """The estimates of a drawn plan (final once it is closed)."""
    record = plans.find(db, principal=principal, plan_id=plan_id)
    if record.state == PlanState.PLANNED.value:
        raise plans.wrong_state(record, "estimate")
    return estimates_of(db, record)


@reads(Action.READ_VERIFICATION)
def latest_closed(db: Session, *, principal: Principal, counties: Sequence[str]
                  ) -> dict[str, dict[str, Any]]:
    """For each county, the estimates of its latest closed third-party evaluation (by year,
    then day closed, then plan): what the exit check takes."""
    p = VerificationPlanRecord
    found = db.scalars(select(p).where(
        p.region_code.in_(sorted(set(counties))), p.state == PlanState.CLOSED.value,
        p.kind == VerificationKind.THIRD_PARTY.value)
        .order_by(p.region_code, p.year.desc(), p.closed_on.desc(), p.id.desc()))
    latest: dict[str, VerificationPlanRecord] = {}
    for record in found:
        if record.region_code not in latest and plans.plan_visible(principal, record):
            latest[record.region_code] = record
    return {code: estimates_of(db, record) for code, record in latest.items()}
