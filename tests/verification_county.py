"""A synthetic county for the verification tests, written straight into a store: regions,
households with their registry statuses, and the truth a perfect verifier would find.

The truth is planted: a share of the exited households is in fact still poor (wrongly
exited), a share of the households never registered is in fact poor (missed), and every
household approves or not with a fixed chance. Each household has a size (the people a
verifier counts). Findings filled from the truth are what the verifiers would record.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert, select, update

from tuopin.domain.verification import Frame, Judgement, frame_of
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord, table_of

COUNTY = "621121"  # 通渭县 (Gansu: a western province)
OTHER_COUNTY = "621122"  # 陇西县
YEAR = 2020


@dataclass(frozen=True)
class Home:
    number: str
    village: str
    status: str
    year_exited: int | None
    size: int
    error: str | None  # wrongly_exited | missed_poor
    approves: bool

    @property
    def frame(self) -> Frame:
        return frame_of(self.status, self.year_exited, YEAR)


@dataclass
class Truth:
    """The county as a perfect verifier would find it."""

    homes: dict[str, Home] = field(default_factory=dict)

    def rate(self, measure: str) -> float:
        """The county's true value of a measure (people, or households for approval)."""
        homes = list(self.homes.values())
        if measure == "approval_rate":
            return float(np.mean([h.approves for h in homes]))
        if measure == "wrong_exit_rate":
            inside = [h for h in homes if h.frame is Frame.EXITED]
            cases = [h for h in inside if h.error == Judgement.WRONGLY_EXITED.value]
        elif measure == "missed_rate":
            inside = [h for h in homes if h.frame is Frame.UNREGISTERED]
            cases = [h for h in inside if h.error == Judgement.MISSED_POOR.value]
        else:
            inside = homes
            cases = [h for h in homes if h.frame is Frame.REGISTERED or h.error]
        return sum(h.size for h in cases) / sum(h.size for h in inside)

    def finding(self, number: str, *, on: str = "", visited: bool = True) -> dict[str, Any]:
        """What a verifier records at ``number`` (as the field list's cells, by field name)."""
        if not visited:
            return {"household_number": number, "visited": "否",
                    "not_visited_reason": "absent"}
        home = self.homes[number]
        return {"household_number": number, "visited": "是", "visited_on": on,
                "household_size": home.size,
                "wage_income": 1500 if home.error else 12000,
                "food_secure": "是", "clothing_secure": "是", "schooling_secure": "是",
                "medical_secure": "是", "housing_grade": "C" if home.error else "A",
                "judgement": home.error or Judgement.CORRECT.value,
                "approval": "是" if home.approves else "否"}


REGIONS = [("620000000000", "甘肃省", 1, None, True), ("621100000000", "定西市", 2,
                                                       "620000000000", None)]


def _regions(county: str, townships: int, villages: int) -> list[dict[str, Any]]:
    code = county.ljust(12, "0")
    rows = [{"code": code, "name": f"县{county}", "level": 3, "parent_code": "621100000000",
             "western": None}]
    for t in range(1, townships + 1):
        township = f"{county}{t:03d}000"
        rows.append({"code": township, "name": f"镇{t}", "level": 4, "parent_code": code,
                     "western": None})
        rows += [{"code": f"{county}{t:03d}{v:03d}", "name": f"村{t}-{v}", "level": 5,
                  "parent_code": township, "western": None} for v in range(1, villages + 1)]
    return rows


STATUSES = ("exited", "ordinary", "poor", "monitored")


def build(engine: Engine, *, seed: int = 1, townships: int = 6, villages: int = 5,
          households: tuple[int, int] = (30, 110), wrong_exits: float = 0.05,
          missed: float = 0.03, approval: float = 0.92, counties: tuple[str, ...] = (
              COUNTY, OTHER_COUNTY)) -> Truth:
    """Write ``counties`` (the truth is the first county's) and return the first's truth."""
    rng = np.random.default_rng(seed)
    truth = Truth()
    regions = [dict(zip(("code", "name", "level", "parent_code", "western"), r, strict=True))
               for r in REGIONS]
    homes: list[dict[str, Any]] = []
    for county in counties:
        regions += _regions(county, townships, villages)
        for village in (r["code"] for r in regions if r["level"] == 5
                        and r["code"].startswith(county)):
            share = rng.uniform(0.15, 0.45)  # how many a village has exited
            for i in range(1, int(rng.integers(*households)) + 1):
                status = STATUSES[rng.choice(4, p=[share, 0.93 - share, 0.04, 0.03])]
                exited = int(rng.integers(2016, 2021)) if status == "exited" or (
                    status == "monitored" and rng.random() < 0.5) else None
                home = Home(f"{village}{i:04d}", village, status, exited,
                            int(rng.integers(1, 7)), None, bool(rng.random() < approval))
                chance = {Frame.EXITED: wrong_exits, Frame.UNREGISTERED: missed}.get(
                    home.frame, 0.0)
                if rng.random() < chance:
                    error = (Judgement.WRONGLY_EXITED if home.frame is Frame.EXITED
                             else Judgement.MISSED_POOR)
                    home = Home(*[getattr(home, k) for k in ("number", "village", "status",
                                                             "year_exited", "size")],
                                error.value, home.approves)
                if county == counties[0]:
                    truth.homes[home.number] = home
                homes.append({"number": home.number, "village_code": village,
                              "status": status, "year_exited": exited,
                              "address": f"{i}号", "version": 1})
    with engine.begin() as conn:
        conn.execute(insert(table_of(RegionRecord)), regions)
        conn.execute(insert(table_of(HouseholdRecord)), homes)
    return truth


def add_heads(engine: Engine, numbers: list[str]) -> None:
    """A head with a valid ID number for each of ``numbers``."""
    from datetime import date, timedelta

    from tuopin.domain import idnumber

    born = [date(1950, 1, 1) + timedelta(days=i) for i in range(len(numbers))]

    with engine.begin() as conn:
        ids = dict(conn.execute(select(HouseholdRecord.number, HouseholdRecord.id)
                                .where(HouseholdRecord.number.in_(numbers))).all())
        conn.execute(insert(table_of(MemberRecord)), [
            {"household_id": ids[n], "id_number": idnumber.compose(COUNTY, born[i], 11),
             "name": f"户主{i}", "sex": "male", "birth_date": born[i], "relation": "head",
             "version": 1} for i, n in enumerate(numbers)])


def set_status(engine: Engine, number: str, status: str, year_exited: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(update(table_of(HouseholdRecord)).where(
            table_of(HouseholdRecord).c.number == number).values(
            status=status, year_exited=year_exited))


def fill(paths: list[Path], truth: Truth, out: Path, *, on: str,
         absent: set[str] | None = None) -> Path:
    """Fill field lists written as CSV with the truth (``absent``: households not found at
    home) into one file ``out`` (the findings of every village, as a county collects them)."""
    header: list[str] = []
    body: list[list[str]] = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], body + rows[1:]
    from tuopin.services.verification.findings import FIELDS

    by_header = {spec.header("zh"): spec.name for spec in FIELDS}
    by_header.update({spec.header("en"): spec.name for spec in FIELDS})
    names = [by_header.get(h) for h in header]
    number_at = names.index("household_number")
    rows_out = [header]
    for row in body:
        number = row[number_at]
        values = truth.finding(number, on=on, visited=number not in (absent or set()))
        rows_out.append([str(values.get(n, "")) if n else cell
                    for n, cell in zip(names, row, strict=True)])
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows_out)
    return out


def fixed(engine: Engine) -> None:
    """A county whose every household follows from arithmetic alone (no random numbers, so
    no library's random streams): 3 townships × 4 villages, 20-53 households each."""
    regions = [dict(zip(("code", "name", "level", "parent_code", "western"), r, strict=True))
               for r in REGIONS] + _regions(COUNTY, 3, 4)
    homes = []
    for v, village in enumerate(r["code"] for r in regions if r["level"] == 5):
        for i in range(1, 21 + (v * 11) % 33):
            status = STATUSES[(0, 1, 1, 0, 1, 2, 1, 0, 1, 3)[(i * 7 + v) % 10]]
            exited = 2016 + (i + v) % 5 if status == "exited" else None
            homes.append({"number": f"{village}{i:04d}", "village_code": village,
                          "status": status, "year_exited": exited, "version": 1})
    with engine.begin() as conn:
        conn.execute(insert(table_of(RegionRecord)), regions)
        conn.execute(insert(table_of(HouseholdRecord)), homes)


def cycle(engine: Engine, truth: Truth, folder: Path, *, seed: int, absent: set[str],
          kind: str = "third_party", close: bool = True, region: str = COUNTY,
          **design: Any) -> dict[str, Any]:
    """The whole cycle as a county runs it: plan, draw, release, field lists out (CSV), the
    findings of every village back in one file, close, estimate."""
    from datetime import date

    from factories import operator
    from tuopin.domain.verification import VerificationKind
    from tuopin.services.verification import draws, estimates, fieldlists, findings, plans
    from tuopin.storage.db import session_factory

    on, principal, sessions = date(2021, 3, 1), operator(), session_factory(engine)
    with sessions() as db, db.begin():
        plan = plans.plan(db, principal=principal, region=region, year=YEAR,
                          kind=VerificationKind.of(kind), seed=seed, as_of=on,
                          **design)["plan"]
        draws.draw(db, principal=principal, plan_id=plan, as_of=on)
        plans.release(db, principal=principal, plan_id=plan, as_of=on)
    with sessions() as db:
        lists = fieldlists.field_lists(db, principal=principal, plan_id=plan, lang="zh")
    paths = [fieldlists.write_field_list(found, folder / f"plan{plan}", "csv")
             for found in lists]
    filled = fill(paths, truth, folder / f"plan{plan}.csv", on=on.isoformat(), absent=absent)
    with sessions() as db, db.begin():
        findings.import_findings(db, principal=principal, plan_id=plan, path=filled,
                                 today=on)
        if close:
            plans.close(db, principal=principal, plan_id=plan, as_of=on)
    with sessions() as db:
        return estimates.estimate(db, principal=principal, plan_id=plan)


def from_synth(engine: Engine, *, households: int, seed: int, wrong_exits: float,
               missed: float, approval: float) -> tuple[str, Truth]:
    """The synthetic county of tuopin.synth (its registry consistent with the national
    standard, errors planted at the given rates) loaded into ``engine``: the first county's
    code and its truth (sizes: the household's 2020 survey; approval drawn at ``approval``)."""
    from datetime import date

    from factories import operator
    from tuopin.services.imports.synthetic import load_synthetic
    from tuopin.storage.models import SurveyRecord
    from tuopin.synth.config import SynthConfig

    planted: list[tuple[str, str]] = []
    config = SynthConfig(households=households, seed=seed, funds=False,
                         plant_wrong_exits=wrong_exits, plant_missed_poor=missed,
                         villages_per_township=6, townships_per_county=5,
                         households_per_village=50)
    load_synthetic(engine, principal=operator(), config=config, today=date(2021, 3, 1),
                   truth=planted)
    errors = dict(planted)
    rng = np.random.default_rng(seed)
    h, s = HouseholdRecord, SurveyRecord
    with engine.connect() as conn:
        rows = conn.execute(select(h.number, h.village_code, h.status, h.year_exited,
                                   s.household_size)
                            .join(s, (s.household_id == h.id) & (s.year == YEAR))
                            .order_by(h.number)).all()
    code = rows[0][1][:6]
    truth = Truth({number: Home(number, village, status, exited, size, errors.get(number),
                                bool(rng.random() < approval))
                   for number, village, status, exited, size in rows
                   if village.startswith(code)})
    return code, truth
