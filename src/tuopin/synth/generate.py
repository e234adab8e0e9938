"""The synthetic registry generator: plan the regions, then generate county by county (its
registry, then its books of funds, with any anomalies planted)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import Kind, file_name
from tuopin.synth import books, families, helpers, households, members, surveys
from tuopin.synth.config import STREAM_COUNTY, SynthConfig
from tuopin.synth.payments import Registry
from tuopin.synth.regions import County, plan
from tuopin.synth.writers import (
    FORMATS,
    arrow_schema,
    open_writer,
    write_planted,
    write_truth,
)

REGISTRY_KINDS = (Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS, Kind.HELPERS)
BOOK_KINDS = (Kind.FUNDS, Kind.PROJECTS, Kind.ALLOCATIONS, Kind.DISBURSEMENTS)
PLANTED_FILE = "planted.csv"
TRUTH_FILE = "truth.csv"


@dataclass
class SynthSummary:
    """What ``generate`` wrote: rows per kind and the file of each kind."""

    counts: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))
    paths: dict[Kind, Path] = field(default_factory=dict)
    planted: list[tuple[str, str]] = field(default_factory=list)  # (rule, subject)
    planted_path: Path | None = None
    truth: list[tuple[str, str]] = field(default_factory=list)  # (household_number, error)
    truth_path: Path | None = None


def county_kinds(config: SynthConfig) -> tuple[Kind, ...]:
    """The kinds of a county's chunk, in the order they are imported."""
    return REGISTRY_KINDS + (BOOK_KINDS if config.funds else ())


@dataclass
class Planting:
    """The cases planted so far (rule, subject), and how many cases of each rule are still
    owed: a county without a candidate for a case hands it on to the next county; and the
    classification errors planted (household number, error)."""

    rows: list[tuple[str, str]] = field(default_factory=list)
    owed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(books.RULES, 0))
    truth: list[tuple[str, str]] = field(default_factory=list)


def county_tables(
    config: SynthConfig, county: County, *, plant: int = 0,
    planting: Planting | None = None,
) -> dict[Kind, pa.Table]:
    """Every table of one county: its registry, then its books of funds with ``plant``
    cases of every rule (and the cases ``planting`` still owes) planted; depends only on
    the config, the county's index and the cases asked of it. The errors planted in the
    registry are added to ``planting.truth``."""
    rng = config.rng(STREAM_COUNTY, county.index)
    last = config.years[-1]
    planting = planting or Planting()
    # Ages are counted at the start of the last survey's school year.
    reference = np.datetime64(f"{last}-09-01")
    hh = households.draw(rng, county, config)
    planting.truth.extend(households.truth(hh))
    fam = families.draw(rng, hh.size, reference)
    households.draw_category(rng, hh, fam.head_age)
    mem, member_columns = members.draw(rng, hh, fam, config.years, reference)
    n = len(hh)

    def anyone(flags: np.ndarray) -> np.ndarray:
        return np.bincount(fam.household, weights=flags, minlength=n) > 0

    able = mem.labour <= members.ORDINARY_LABOUR
    studying = (mem.schooling == members.IN_SCHOOL) & (fam.age >= 16)
    causes = households.draw_causes(
        rng, hh, anyone(mem.health == members.DISABLED),
        anyone((mem.health == members.CHRONIC) | (mem.health == members.SERIOUS)),
        ~anyone(able), anyone(studying),
    )
    columns = {
        Kind.HOUSEHOLDS: households.table(rng, hh, causes, last),
        Kind.MEMBERS: member_columns,
        Kind.SURVEYS: surveys.draw(rng, config.years, hh, fam, mem),
        Kind.HELPERS: helpers.draw(rng, hh),
    }
    if config.funds:
        registry = _registry(county, hh, fam, mem, columns)
        wanted = {rule: plant + owed for rule, owed in planting.owed.items()}
        drawn = books.draw(config, county, registry,
                           plant=wanted if any(wanted.values()) else None)
        columns.update(drawn.columns)
        if drawn.helper_ids:
            columns[Kind.HELPERS]["id_number"] = _replaced(
                columns[Kind.HELPERS]["id_number"], drawn.helper_ids)
        if drawn.deaths:
            columns[Kind.MEMBERS]["deceased_date"] = _replaced(
                columns[Kind.MEMBERS]["deceased_date"], drawn.deaths)
        planting.rows.extend(drawn.planted)
        planting.owed = {rule: drawn.short.get(rule, 0) for rule in planting.owed}
    return {kind: _typed(kind, cols) for kind, cols in columns.items()}


def _registry(
    county: County, hh: households.Households, fam: families.Family, mem: members.Members,
    columns: dict[Kind, dict[str, pa.Array]],
) -> Registry:
    home, people = columns[Kind.HOUSEHOLDS], columns[Kind.MEMBERS]
    exited = home["year_exited"].fill_null(0).to_numpy(zero_copy_only=False)
    # survey rows are household by household, year by year: the last of each household's
    surveyed = columns[Kind.SURVEYS]["collected_on"].to_numpy(zero_copy_only=False)
    surveyed = surveyed.astype("datetime64[D]").reshape(len(hh), -1)[:, -1]
    return Registry(
        county=county, village=hh.village, number=hh.number, status=hh.status,
        exited=exited, accounts=home["bank_account"], household=fam.household,
        ids=people["id_number"], died=mem.deceased.copy(),  # planting may record a death
        age=np.floor(fam.age).astype(np.int64),
        health=mem.health, schooling=mem.schooling, labour=mem.labour, away=mem.months_away,
        helpers=columns[Kind.HELPERS]["households"], head=fam.slot == families.HEAD,
        surveyed=surveyed,
    )


def _replaced(values: pa.Array, changes: dict[int, Any]) -> pa.Array:
    """``values`` with the values at some positions replaced."""
    positions = sorted(changes)
    mask = np.zeros(len(values), dtype=bool)
    mask[positions] = True
    replacements = pa.array([changes[p] for p in positions], values.type)
    return pc.replace_with_mask(values, pa.array(mask), replacements)


def _typed(kind: Kind, cols: dict[str, pa.Array]) -> pa.Table:
    schema = arrow_schema(kind)
    return pa.table({name: cols[name] for name in schema.names}).cast(schema)


def plants_per_county(config: SynthConfig, counties: int) -> list[int]:
    """How many cases of each rule every county gets: the first counties one more."""
    whole, extra = divmod(config.plant_anomalies, counties)
    return [whole + (index < extra) for index in range(counties)]


def generate_tables(
    config: SynthConfig, *, planted: list[tuple[str, str]] | None = None,
    truth: list[tuple[str, str]] | None = None,
) -> Iterator[tuple[Kind, pa.Table]]:
    """The registry as Arrow tables: regions first, then each county's tables (its registry
    and its books); planted cases are added to ``planted`` (rule, subject), and planted
    classification errors to ``truth`` (household number, error)."""
    layout = plan(config)
    yield Kind.REGIONS, layout.regions.cast(arrow_schema(Kind.REGIONS))
    plants = plants_per_county(config, len(layout.counties))
    planting = Planting()
    for county, plant in zip(layout.counties, plants, strict=True):
        yield from county_tables(config, county, plant=plant, planting=planting).items()
        if planted is not None:
            planted.extend(planting.rows)
        if truth is not None:
            truth.extend(planting.truth)
        planting.rows, planting.truth = [], []
    owed = {rule: count for rule, count in planting.owed.items() if count}
    if owed:
        raise ValidationFailed(
            f"the registry is too small to plant {config.plant_anomalies} cases of every "
            f"rule (short of {owed}): plant fewer or generate more households")


def generate(
    config: SynthConfig, out_dir: Path, *, fmt: str = "csv",
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Write the registry as one file per kind in ``out_dir``; return what was written."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = SynthSummary()
    # Files are written under a temporary name and renamed once complete, so an interrupted
    # run never leaves a registry that looks whole but is not.
    partial = {kind: out_dir / (file_name(kind, fmt) + ".part") for kind in Kind}
    try:
        with ExitStack() as stack:
            writers = {}
            for kind, path in partial.items():
                writers[kind] = open_writer(path, kind, fmt)
                stack.callback(writers[kind].close)
            done = 0
            last = county_kinds(config)[-1]
            for kind, table in generate_tables(config, planted=summary.planted,
                                               truth=summary.truth):
                writers[kind].write(table)
                summary.counts[kind] += table.num_rows
                done += table.num_rows if kind is Kind.HOUSEHOLDS else 0
                # A county's last table ends its chunk.
                if kind is last and progress is not None:
                    progress(done, config.households)
    except BaseException:
        for path in partial.values():
            path.unlink(missing_ok=True)
        raise
    for kind, path in partial.items():
        summary.paths[kind] = path.replace(out_dir / file_name(kind, fmt))
    # planted.csv and truth.csv list what a run planted; a run that plants nothing leaves
    # none behind
    (out_dir / PLANTED_FILE).unlink(missing_ok=True)
    (out_dir / TRUTH_FILE).unlink(missing_ok=True)
    if config.plant_anomalies:
        summary.planted_path = write_planted(summary.planted, out_dir / PLANTED_FILE)
    if config.plants_truth:
        summary.truth_path = write_truth(summary.truth, out_dir / TRUTH_FILE)
    return summary
