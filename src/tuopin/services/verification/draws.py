"""Drawing a plan's sample from its county's frame, and proving a draw, byte for byte.

The frame is the county's households as the draw sees them, one line each, ordered by
village and household number: ``household_number,village_code,frame`` (the frame follows
from the registry status in the plan's year, domain.verification.frame_of). Its SHA-256 is
the plan's ``frame_hash``; the frame itself is kept with the plan (gzip, deterministic) so
that the draw can be repeated after the registry has moved on. Nothing outside the county
enters the frame: an edit elsewhere cannot change it.

The sample file is CSV (UTF-8, ``\\n``), one row per household drawn, in the order of the
draw (village in frame order, frame, household number), floats in Python's shortest
round-trip spelling; its SHA-256 is the plan's ``sample_hash``. The design - sizes per frame
from the margin, confidence, design effect and frame size; villages by systematic PPS;
households by SRS in each village and frame - is domain.sampling's, from the plan's seed.

``check`` redraws: from the county's frame as the registry holds it now (it must give the
same bytes when the frame has not changed), from the frame kept with the plan (it must give
the same bytes always), and from the rows stored (they must be the file the draw wrote).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tuopin.domain import sampling
from tuopin.domain.errors import RuleBroken
from tuopin.domain.scope import Scope
from tuopin.domain.verification import FRAMES, Frame, PlanState, VerificationKind, defaults
from tuopin.domain.verification import frame_of as frame_in_year
from tuopin.i18n import N_
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.verification import plans
from tuopin.storage.models import (
    HouseholdRecord,
    VerificationPlanRecord,
    VerificationSampleRecord,
    table_of,
)
from tuopin.storage.scope import in_region

FRAME_HEADER = "household_number,village_code,frame\n"
SAMPLE_COLUMNS = ("position", "household_number", "village_code", "township_code", "frame",
                  "stratum", "variance_stratum", "psu", "pi_village", "pi_household",
                  "probability", "weight")
EMPTY_FRAME = N_("The county has no households to draw from.")


class FrameRow(NamedTuple):
    """One household of a frame (a tuple: a county has tens of thousands)."""

    number: str
    village_code: str
    frame: Frame
    household_id: int | None = None  # the store's id (not part of the frame's text)


def read_frame(db: Session, county: str, year: int) -> list[FrameRow]:
    """The county's households as the draw of a plan of ``year`` sees them, in frame order."""
    h = HouseholdRecord
    query = (select(h.number, h.village_code, h.status, h.year_exited, h.id)
             .where(in_region(Scope(county), h.village_code))
             .order_by(h.village_code, h.number))
    return [FrameRow(number, village, frame_in_year(status, exited, year), household_id)
            for number, village, status, exited, household_id in db.execute(query)]


def frame_text(rows: list[FrameRow]) -> bytes:
    """The frame as hashed and kept: a header, then ``number,village,frame`` lines."""
    return (FRAME_HEADER + "".join(f"{r.number},{r.village_code},{r.frame.value}\n"
                                   for r in rows)).encode("utf-8")


def parse_frame(text: bytes) -> list[FrameRow]:
    """The frame back from its text."""
    lines = text.decode("utf-8").splitlines()[1:]
    return [FrameRow(number, village, Frame.of(frame))
            for number, village, frame in (line.split(",") for line in lines)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packed(text: bytes) -> bytes:
    """gzip without a time stamp or a name: the same frame packs to the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as handle:
        handle.write(text)
    return buffer.getvalue()


@dataclass(frozen=True)
class Drawn:
    """A sample as drawn: its design (plain data), its rows and the file's bytes."""

    design: dict[str, Any]
    rows: list[dict[str, Any]]
    content: bytes

    @property
    def sample_hash(self) -> str:
        return sha256(self.content)


def _targets(plan: VerificationPlanRecord, populations: dict[Frame, int]) -> dict[Frame, int]:
    """Households to draw from each frame: given, or from the margin of error (the registered
    poor get their share of the sample that the approval of every household needs)."""
    given = json.loads(plan.sizes) if plan.sizes else {}
    size = {"margin": plan.margin, "confidence": plan.confidence, "deff": plan.deff,
            "p": plan.p}
    everyone = sum(populations.values())
    targets = {}
    for frame in FRAMES:
        n = populations[frame]
        if frame.value in given:
            targets[frame] = min(n, int(given[frame.value]))
        elif frame is Frame.REGISTERED:
            share = sampling.sample_size(everyone, **size) * n / everyone if everyone else 0
            targets[frame] = min(n, math.ceil(share - 1e-9))
        else:
            targets[frame] = sampling.sample_size(n, **size)
    return targets


def design_of(plan: VerificationPlanRecord, rows: list[FrameRow]
              ) -> tuple[dict[str, Any], list[str], np.ndarray]:
    """The design a plan gets on a frame: the sizes, villages and takes (before the draw);
    returns (design, villages in frame order, households of each village and frame)."""
    villages = sorted({r.village_code for r in rows})
    index = {code: i for i, code in enumerate(villages)}
    counts = np.zeros((len(villages), len(FRAMES)), dtype=np.int64)
    for r in rows:
        counts[index[r.village_code], FRAMES.index(r.frame)] += 1
    populations = {f: int(counts[:, g].sum()) for g, f in enumerate(FRAMES)}
    targets = _targets(plan, populations)
    usual = defaults(VerificationKind.of(plan.kind))
    wanted = plan.villages or max(usual.min_villages, math.ceil(
        max(targets.values(), default=0) / usual.households_per_village))
    m = max(1, min(wanted, len(villages)))
    takes = {f: math.ceil(targets[f] / m) for f in FRAMES}
    design = {
        "frame": {"households": len(rows), "villages": len(villages),
                  "townships": len({v[:9] for v in villages})},
        "frames": {f.value: {"households": populations[f], "target": targets[f],
                             "per_village": takes[f]} for f in FRAMES},
        "villages": {"requested": wanted, "drawn": m},
        "method": "systematic PPS of villages on households (frame order: township, village "
                  "code; certainty villages first), SRS of households in each village and "
                  "frame; PCG64 streams from SeedSequence(seed, spawn_key)",
    }
    return design, villages, counts


def draw_rows(plan: VerificationPlanRecord, rows: list[FrameRow]) -> Drawn:
    """Draw ``plan``'s sample from ``rows`` (its frame): the design, the rows, the file."""
    if not rows:
        raise RuleBroken(EMPTY_FRAME)
    design, villages, counts = design_of(plan, rows)
    takes = [design["frames"][f.value]["per_village"] for f in FRAMES]
    sample = sampling.draw_two_stage(counts, villages=design["villages"]["drawn"],
                                     takes=takes, seed=plan.seed,
                                     keys=[int(v) for v in villages])
    members: dict[tuple[str, Frame], list[str]] = defaultdict(list)
    for r in rows:
        members[r.village_code, r.frame].append(r.number)
    out = []
    for i in range(len(sample)):
        village, frame = villages[sample.village[i]], FRAMES[sample.group[i]]
        number = members[village, frame][sample.member[i]]
        probability = float(sample.pi_village[i] * sample.pi_household[i])
        out.append({
            "position": i + 1, "household_number": number, "village_code": village,
            "township_code": village[:9].ljust(12, "0"), "frame": frame.value,
            "stratum": f"{village[:9].ljust(12, '0')}:{frame.value}",
            "variance_stratum": sample.variance_stratum[i],
            "psu": number if sample.certain[i] else village,
            "pi_village": float(sample.pi_village[i]),
            "pi_household": float(sample.pi_household[i]),
            "probability": probability, "weight": 1.0 / probability})
    drawn_frames: dict[str, int] = defaultdict(int)
    for row in out:
        drawn_frames[row["frame"]] += 1
    for f in FRAMES:
        design["frames"][f.value]["drawn"] = drawn_frames[f.value]
    design["villages"].update({
        "certain": int(sample.villages.certain.sum()), "interval": sample.villages.interval,
        "start": sample.villages.start})
    return Drawn(design, out, sample_file(out))


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def sample_file(rows: list[dict[str, Any]]) -> bytes:
    """The sample file's bytes: CSV, a header, one line per household (floats as repr)."""
    lines = [",".join(SAMPLE_COLUMNS)]
    lines += [",".join(_cell(row[c]) for c in SAMPLE_COLUMNS) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def stored_rows(db: Session, plan_id: int) -> list[dict[str, Any]]:
    """A plan's sample as stored, in the order of the draw."""
    s = VerificationSampleRecord
    found = db.execute(select(*[getattr(s, c) for c in SAMPLE_COLUMNS])
                       .where(s.plan_id == plan_id).order_by(s.position))
    return [dict(zip(SAMPLE_COLUMNS, row, strict=True)) for row in found]


@changes(Action.PLAN_VERIFICATION)
def draw(db: Session, *, principal: Principal, plan_id: int, as_of: date,
         expected_version: int | None = None) -> Drawn:
    """Draw a planned sample: store its rows, the frame it was drawn from and both hashes;
    the plan becomes drawn. A plan is drawn once."""
    record = plans.find(db, principal=principal, plan_id=plan_id, lock=True)
    plans.check_step(record, to=PlanState.DRAWN, as_of=as_of, step="draw",
                     expected_version=expected_version)
    rows = read_frame(db, record.region_code, record.year)
    drawn = draw_rows(record, rows)
    ids = {r.number: r.household_id for r in rows}
    if drawn.rows:
        db.execute(insert(table_of(VerificationSampleRecord)),
                   [{**row, "plan_id": record.id, "household_id": ids[row["household_number"]]}
                    for row in drawn.rows])
    text = frame_text(rows)
    record.frame_hash, record.frame = sha256(text), packed(text)
    record.sample_hash, record.sample_size = drawn.sample_hash, len(drawn.rows)
    record.design = json.dumps(drawn.design, ensure_ascii=False, sort_keys=True)
    plans.mark_step(record, to=PlanState.DRAWN, actor=principal.actor, as_of=as_of)
    records.flush(db, what=plans.PLAN)
    audit.record(db, actor=principal.actor, action="draw", entity="verification_plan",
                 entity_id=str(record.id),
                 after={"frame_hash": record.frame_hash, "sample_hash": record.sample_hash,
                        "households": len(drawn.rows), "frame": len(rows),
                        "villages": drawn.design["villages"]["drawn"], "drawn_on": as_of})
    return drawn


@reads(Action.READ_VERIFICATION)
def sample_content(db: Session, *, principal: Principal, plan_id: int) -> bytes:
    """The sample file of a drawn plan, from its stored rows (whoever may see its list)."""
    record = plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    return sample_file(stored_rows(db, record.id))


@dataclass(frozen=True)
class DrawCheck:
    """What a redraw found; ``identical`` only when every comparison holds."""

    plan: int
    sample_hash: str
    frame_hash: str
    registry_frame_hash: str
    snapshot_intact: bool
    redrawn_hash: str  # from the registry's frame when unchanged, else from the snapshot
    stored_rows_hash: str
    file_hash: str | None  # of a file handed in to compare, if any
    frame_changes: dict[str, int]  # households added, removed, of another frame since

    @property
    def registry_unchanged(self) -> bool:
        return self.registry_frame_hash == self.frame_hash

    @property
    def identical(self) -> bool:
        same = {self.redrawn_hash, self.stored_rows_hash} == {self.sample_hash}
        return same and self.snapshot_intact and self.file_hash in (None, self.sample_hash)

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "identical": self.identical,
                "registry_unchanged": self.registry_unchanged,
                "snapshot_intact": self.snapshot_intact, "sample_hash": self.sample_hash,
                "redrawn_hash": self.redrawn_hash, "stored_rows_hash": self.stored_rows_hash,
                "file_hash": self.file_hash, "frame_hash": self.frame_hash,
                "registry_frame_hash": self.registry_frame_hash,
                "frame_changes": self.frame_changes}


def _changes(then: list[FrameRow], now: list[FrameRow]) -> dict[str, int]:
    before = {r.number: (r.village_code, r.frame) for r in then}
    after = {r.number: (r.village_code, r.frame) for r in now}
    return {"added": len(after.keys() - before.keys()),
            "removed": len(before.keys() - after.keys()),
            "changed": sum(1 for k in before.keys() & after.keys() if before[k] != after[k])}


@reads(Action.READ_VERIFICATION)
def check(db: Session, *, principal: Principal, plan_id: int,
          file: bytes | None = None) -> DrawCheck:
    """Redraw a drawn plan and compare, byte for byte, with the file it wrote (its hash),
    with the rows stored and with ``file`` if given (see the module's docstring)."""
    record = plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    if record.sample_hash is None or record.frame_hash is None or record.frame is None:
        raise plans.wrong_state(record, "check")
    now = read_frame(db, record.region_code, record.year)
    now_hash = sha256(frame_text(now))
    kept = gzip.decompress(record.frame)
    intact = sha256(kept) == record.frame_hash
    then = parse_frame(kept) if intact else now
    source = now if now_hash == record.frame_hash else then
    redrawn = draw_rows(record, source)
    return DrawCheck(
        plan=record.id, sample_hash=record.sample_hash, frame_hash=record.frame_hash,
        registry_frame_hash=now_hash, snapshot_intact=intact,
        redrawn_hash=redrawn.sample_hash,
        stored_rows_hash=sha256(sample_file(stored_rows(db, record.id))),
        file_hash=None if file is None else sha256(file),
        frame_changes=_changes(then, now))
