"""What the verifiers see in the field: the households to visit with what finds them, one
household with its finding, and the progress of the visits village by village.

Whoever may see a plan's list sees these (services.verification.plans), and only the
households in their own region; the head's ID number is always masked (the region and the
last four characters): a verifier needs the name, not the number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tuopin.domain.enums import Relation
from tuopin.domain.errors import NotFound
from tuopin.services.access.masking import mask_id
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.verification import plans
from tuopin.services.verification.findings import sample_rows
from tuopin.storage.models import (
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    VerificationFindingRecord,
    VerificationSampleRecord,
)
from tuopin.storage.scope import in_region


def _names(db: Session, codes: set[str]) -> dict[str, str]:
    return dict(db.execute(select(RegionRecord.code, RegionRecord.name).where(
        RegionRecord.code.in_(sorted(codes)))).all())


def household_context(db: Session, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each household drawn (a sample row), what finds it: the head's name and masked ID
    number, the address, the registry status, and ``names`` (region code -> name)."""
    ids = [r["household_id"] for r in rows]
    h, m = HouseholdRecord, MemberRecord
    homes = db.execute(select(h.id, h.number, h.address, h.status).where(h.id.in_(ids))).all()
    heads = {household: (name, mask_id(number)) for household, name, number in db.execute(
        select(m.household_id, m.name, m.id_number).where(
            m.household_id.in_(ids), m.relation == Relation.HEAD.value))}
    names = _names(db, {r["village_code"] for r in rows} | {r["township_code"] for r in rows})
    found = {}
    for hid, number, address, status in homes:
        head, head_id = heads.get(hid, (None, None))
        found[number] = {"head": head, "head_id": head_id, "address": address,
                         "status": status, "names": names}
    return found


def _with_context(db: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    context = household_context(db, rows) if rows else {}
    found = []
    for row in rows:
        extra = dict(context[row["household_number"]])
        names = extra.pop("names")
        found.append({**row, **extra, "village": names.get(row["village_code"]),
                      "township": names.get(row["township_code"])})
    return found


@reads(Action.READ_VERIFICATION)
def visit_list(db: Session, *, principal: Principal, plan_id: int,
               village: str | None = None) -> list[dict[str, Any]]:
    """The households to visit (``sample_rows`` with their findings so far), each with its
    head (name, masked ID number), address, registry status, village and township names."""
    return _with_context(db, sample_rows(db, principal=principal, plan_id=plan_id,
                                         village=village))


@reads(Action.READ_VERIFICATION)
def finding(db: Session, *, principal: Principal, plan_id: int, number: str
            ) -> dict[str, Any]:
    """One household drawn, as ``visit_list`` gives it (its finding and ``finding_version``
    None when none); NotFound when the plan did not draw it or it is outside the region."""
    record = plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    s = VerificationSampleRecord
    village = db.scalar(select(s.village_code).where(
        s.plan_id == record.id, s.household_number == number,
        in_region(principal.scope, s.village_code)))
    if village is None:
        raise NotFound(f"household {number} not found in verification plan {plan_id}")
    rows = sample_rows(db, principal=principal, plan_id=plan_id, village=village)
    return _with_context(db, [r for r in rows if r["household_number"] == number])[0]


@reads(Action.READ_VERIFICATION)
def progress(db: Session, *, principal: Principal, plan_id: int) -> list[dict[str, Any]]:
    """The visits so far, per village and frame the principal reaches (counted in the
    database): households drawn, findings recorded, households visited."""
    record = plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    s, f = VerificationSampleRecord, VerificationFindingRecord
    rows = db.execute(
        select(s.village_code, s.township_code, s.frame, func.count(s.id),
               func.count(f.id), func.sum(case((f.visited.is_(True), 1), else_=0)))
        .outerjoin(f, f.sample_id == s.id)
        .where(s.plan_id == record.id, in_region(principal.scope, s.village_code))
        .group_by(s.village_code, s.township_code, s.frame)
        .order_by(s.village_code, s.frame)).all()
    names = _names(db, {r[0] for r in rows} | {r[1] for r in rows})
    return [{"village_code": village, "village": names.get(village),
             "township_code": township, "township": names.get(township), "frame": frame,
             "drawn": int(drawn), "recorded": int(recorded), "visited": int(visited or 0)}
            for village, township, frame, drawn, recorded, visited in rows]
