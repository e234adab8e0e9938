"""The tables an assessment reads: one row per surveyed household, one per living member.

Columns are named ``<scope>__<field>`` (``survey__housing_grade``, ``member__age``) so that
the compiler can turn ``survey.housing_grade`` into a column without knowing any table.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

HOUSEHOLD_FIELDS = ("number", "village_code", "address", "status", "category", "main_cause",
                    "year_identified", "year_exited")
SURVEY_FIELDS = ("year", "household_size", "wage_income", "production_income",
                 "property_income", "transfer_income", "production_costs", "medical_expenses",
                 "food_secure", "clothing_secure", "housing_grade", "water_quantity_lpd",
                 "water_piped", "water_trip_minutes", "water_outage_days", "water_quality_ok",
                 "water_scarce_area")
MEMBER_FIELDS = ("name", "id_number", "sex", "birth_date", "relation", "ethnicity",
                 "education", "schooling_status", "health", "disability_grade", "labour",
                 "months_worked_away", "medical_insurance", "critical_illness_insurance",
                 "pension_insurance", "dibao", "deceased_date")


@dataclass(frozen=True)
class Frames:
    """The household frame (``hid`` keyed) and the member frame (``hid`` + member columns)."""

    households: ir.Table
    members: ir.Table
    year: int
    reference: date  # ages and 'living' are judged on this day (the year's last)


def build(registry: Any, *, year: int, scope_prefix: str = "",
          fields: Collection[tuple[str, str]] | None = None) -> Frames:
    """Join each household with its survey of ``year``; members alive at the year's end.

    ``fields`` (``("survey", "housing_grade")``, ...): only these columns besides the keys,
    the household's number, village and status and the members' ages; all when None. A
    narrow frame changes nothing in the engine, which reads only what a query uses, but
    Ibis builds and compiles the query about a third faster (measured: 0.13 -> 0.09 s for
    cn-national), which is most of what it adds to a million-member run.
    """
    wanted = {*(fields or ()), *(("household", n) for n in ("number", "village_code",
                                                            "status"))}

    def kept(scope: str, names: tuple[str, ...]) -> tuple[str, ...]:
        return names if fields is None else tuple(n for n in names if (scope, n) in wanted)

    reference = date(year, 12, 31)
    h, s, m = registry.household, registry.survey, registry.member
    if scope_prefix:
        h = h.filter(h.village_code.startswith(scope_prefix))
    surveys = s.filter(s.year == year)
    joined = h.join(surveys, h.id == surveys.household_id)
    households = joined.select(
        hid=h.id,
        **{f"household__{f}": h[f] for f in kept("household", HOUSEHOLD_FIELDS)},
        **{f"survey__{f}": surveys[f] for f in kept("survey", SURVEY_FIELDS)},
    )
    alive = m.deceased_date.isnull() | (m.deceased_date > ibis.date(reference))
    living = m.filter(alive)
    members = living.select(
        hid=living.household_id,
        member__age=(ibis.literal(year) - living.birth_date.year()).cast("int64"),
        **{f"member__{f}": living[f] for f in kept("member", MEMBER_FIELDS)},
    )
    return Frames(households, members, year, reference)
