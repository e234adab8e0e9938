"""The shipped standard's verdicts on a synthetic registry, year by year: the generator's
tables given ids as the importer would, and assessed on DuckDB by the real assessment query
(tuopin.analytics.assess), so the test judges the surveys exactly as `tuopin assess` does."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.analytics.assess import Plan, run_query
from tuopin.analytics.backends import close, open_arrow
from tuopin.io.schema import Kind
from tuopin.standards.loader import load
from tuopin.storage.snapshot import conform
from tuopin.synth import SynthConfig, generate_tables
from tuopin.synth.paths import STANDARD


@dataclass
class Verdicts:
    """A registry's households, the standard's verdict on each in each survey year (people
    counted as the assessment counts them), and the planted truth."""

    households: pa.Table
    poor: dict[int, np.ndarray]  # year -> per household, in household order
    people: dict[int, np.ndarray]  # year -> living members per household
    truth: list[tuple[str, str]]

    def registered_poor(self, year: int) -> np.ndarray:
        """Per household: poor in the register in ``year`` (identified by then, not exited
        by then)."""
        h = self.households
        status = np.array(h["status"].to_pylist())
        identified = h["year_identified"].fill_null(0).to_numpy()
        exited = h["year_exited"].fill_null(9999).to_numpy()
        return (np.isin(status, ["poor", "exited"]) & (identified > 0) & (identified <= year)
                & (exited > year))


def assess(config: SynthConfig) -> Verdicts:
    """Generate ``config`` and assess every survey year with the shipped standard."""
    truth: list[tuple[str, str]] = []
    chunks: dict[Kind, list[pa.Table]] = {}
    for kind, table in generate_tables(config, truth=truth):
        chunks.setdefault(kind, []).append(table)
    h, m, s = (pa.concat_tables(chunks[k]) for k in (Kind.HOUSEHOLDS, Kind.MEMBERS,
                                                       Kind.SURVEYS))

    def ids(table: pa.Table) -> pa.Array:
        return pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))

    def household_id(table: pa.Table) -> pa.Array:
        position = pc.index_in(table["household_number"], value_set=h["number"])
        return pc.add(pc.cast(position, pa.int64()), 1)

    registry = open_arrow({
        "household": conform(h, "household", {"id": ids(h)}),
        "member": conform(m, "member", {"id": ids(m), "household_id": household_id(m)}),
        "survey": conform(s, "survey", {"id": ids(s), "household_id": household_id(s)}),
    })
    standard = load(STANDARD)
    poor, people = {}, {}
    try:
        for year in config.years:
            plan = Plan(standard, year, standard.income_line(year).amount)
            result = run_query(registry, plan)  # sorted by hid: household order
            assert result.num_rows == h.num_rows
            poor[year] = result["poor"].to_numpy(zero_copy_only=False)
            people[year] = result["members"].to_numpy()
    finally:
        close(registry)
    return Verdicts(h, poor, people, truth)
