"""Independent verification (第三方评估, 暗访督查): its kinds, states, frames, findings, the
measures it estimates (data/verification.toml) and the verdict on an interval.

A plan moves planned → drawn → released → closed, never back. The frame a household is
sampled in follows from its registry status in the plan's year: exited households (for the
wrong-exit rate), households never registered as poor (for the missed rate), and the
registered poor not yet exited; all three together are the frame of approval and of the
composite incidence.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from tuopin.domain.enums import HouseholdStatus, Titled
from tuopin.domain.errors import ConfigurationError


class VerificationKind(Titled):
    THIRD_PARTY = "third_party", "third-party evaluation"
    SPOT_CHECK = "spot_check", "spot check"


class PlanState(Titled):
    PLANNED = "planned", "planned"
    DRAWN = "drawn", "sample drawn"
    RELEASED = "released", "released to the verifiers"
    CLOSED = "closed", "closed"


# the one way through a plan's life
NEXT_STATE = {PlanState.PLANNED: PlanState.DRAWN, PlanState.DRAWN: PlanState.RELEASED,
              PlanState.RELEASED: PlanState.CLOSED}


class Frame(Titled):
    """The sampling frame (and second-stage stratum) a household is drawn in."""

    EXITED = "exited", "exited households"
    UNREGISTERED = "unregistered", "households never registered as poor"
    REGISTERED = "registered", "registered poor households not exited"


FRAMES = tuple(Frame)  # the order of the groups in a draw


class Judgement(Titled):
    """The verifier's judgement of a visited household's registration."""

    CORRECT = "correct", "correctly registered"
    WRONGLY_EXITED = "wrongly_exited", "wrongly exited"
    MISSED_POOR = "missed_poor", "missed poor"


# which judgement of an error belongs to which frame (the others only say "correct")
ERROR_OF_FRAME = {Frame.EXITED: Judgement.WRONGLY_EXITED,
                  Frame.UNREGISTERED: Judgement.MISSED_POOR}


class NotVisited(Titled):
    """Why a sampled household was not visited (non-response)."""

    ABSENT = "absent", "nobody at home"
    REFUSED = "refused", "refused the visit"
    MOVED = "moved", "moved away"
    NOT_FOUND = "not_found", "household not found"
    OTHER = "other", "other reason"


class Verdict(StrEnum):
    """A figure's verdict against its threshold, from its 95 % interval."""

    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"  # the interval straddles the threshold


_EXITED, _MONITORED = HouseholdStatus.EXITED.value, HouseholdStatus.MONITORED.value
_ORDINARY = HouseholdStatus.ORDINARY.value


def frame_of(status: str, year_exited: int | None, year: int) -> Frame:
    """The frame of a household with registry ``status`` and exit year in ``year``: exited
    households (an exited or monitored household that exited by ``year``); households never
    registered as poor (ordinary ones, and monitored ones that never exited: households at
    the edge); the registered poor (poor ones, returned ones, and those that exited later)."""
    if status == _EXITED or status == _MONITORED:
        if year_exited is not None and year_exited <= year:
            return Frame.EXITED
        if year_exited is None:  # exited, the year not recorded; monitored: at the edge
            return Frame.EXITED if status == _EXITED else Frame.UNREGISTERED
        return Frame.REGISTERED  # exited after the year verified: poor in it
    return Frame.UNREGISTERED if status == _ORDINARY else Frame.REGISTERED


def verdict(interval: tuple[float, float] | None, *, threshold: float,
            comparison: str) -> Verdict:
    """Pass when the whole interval is on the right side of the threshold, fail when it is
    wholly on the wrong side (the threshold itself is the wrong side: criteria are strict),
    undecided when it straddles the threshold or is not known."""
    if interval is None or any(v is None or v != v for v in interval):
        return Verdict.UNDECIDED
    lo, hi = interval
    if comparison == "below":
        return Verdict.PASS if hi < threshold else Verdict.FAIL if lo >= threshold \
            else Verdict.UNDECIDED
    return Verdict.PASS if lo > threshold else Verdict.FAIL if hi <= threshold \
        else Verdict.UNDECIDED


class Unit(StrEnum):
    PEOPLE = "people"  # each household weighted by its size (as measured)
    HOUSEHOLDS = "households"


@dataclass(frozen=True)
class Measure:
    """A figure a verification estimates (data/verification.toml)."""

    id: str
    criterion: str  # the exit criterion (exit_criteria.toml) that judges it
    title_zh: str
    title_en: str
    unit: Unit
    frame: Frame | None  # None: every frame
    definition_zh: str
    definition_en: str
    source: str

    def title(self, lang: str) -> str:
        return self.title_en if lang.startswith("en") else self.title_zh


@dataclass(frozen=True)
class KindDefaults:
    """The default design of a kind of check."""

    kind: VerificationKind
    title_zh: str
    title_en: str
    margin: float
    confidence: float
    deff: float
    p: float
    households_per_village: int
    min_villages: int
    source: str


MEASURE_IDS = ("wrong_exit_rate", "missed_rate", "approval_rate", "composite_incidence")


@lru_cache(maxsize=1)
def _data() -> dict:
    path = resources.files("tuopin.domain") / "data" / "verification.toml"
    return tomllib.loads(path.read_text("utf-8"))


def _measure(row: dict) -> Measure:
    if row["id"] not in MEASURE_IDS:
        raise ConfigurationError(f"verification measure {row['id']!r}: not one of "
                                 f"{', '.join(MEASURE_IDS)}")
    frame = row["frame"]
    return Measure(
        id=row["id"], criterion=row["criterion"], title_zh=row["title"]["zh"],
        title_en=row["title"]["en"], unit=Unit(row["unit"]),
        frame=None if frame == "all" else Frame.of(frame),
        definition_zh=row["definition"]["zh"], definition_en=row["definition"]["en"],
        source=row["source"])


@lru_cache(maxsize=1)
def measures() -> tuple[Measure, ...]:
    """The measures in the file's order."""
    found = tuple(_measure(row) for row in _data()["measure"])
    if sorted(m.id for m in found) != sorted(MEASURE_IDS):
        raise ConfigurationError("verification.toml must define each measure once: "
                                 + ", ".join(MEASURE_IDS))
    return found


def defaults(kind: VerificationKind) -> KindDefaults:
    """The default design of ``kind``."""
    row = _data()["kind"][kind.value]
    return KindDefaults(
        kind=kind, title_zh=row["title"]["zh"], title_en=row["title"]["en"],
        margin=float(row["margin"]), confidence=float(row["confidence"]),
        deff=float(row["deff"]), p=float(row["p"]),
        households_per_village=int(row["households_per_village"]),
        min_villages=int(row["min_villages"]), source=row["source"])


def source() -> str:
    """The document the measures come from."""
    return str(_data()["source"])
