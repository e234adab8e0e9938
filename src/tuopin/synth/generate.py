"""The synthetic registry generator: plan the regions, then generate county by county."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import Kind, file_name
from tuopin.synth import families, helpers, households, members, surveys
from tuopin.synth.config import STREAM_COUNTY, SynthConfig
from tuopin.synth.regions import County, plan
from tuopin.synth.writers import FORMATS, arrow_schema, open_writer

COUNTY_KINDS = (Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS, Kind.HELPERS)


@dataclass
class SynthSummary:
    """What ``generate`` wrote: rows per kind and the file of each kind."""

    counts: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(Kind, 0))
    paths: dict[Kind, Path] = field(default_factory=dict)


def county_tables(config: SynthConfig, county: County) -> dict[Kind, pa.Table]:
    """Every table of one county; depends only on the config and the county's index."""
    rng = config.rng(STREAM_COUNTY, county.index)
    last = config.years[-1]
    # Ages are counted at the start of the last survey's school year.
    reference = np.datetime64(f"{last}-09-01")
    first_day = np.datetime64(f"{config.years[0]}-01-01")
    hh = households.draw(rng, county)
    fam = families.draw(rng, hh.size, reference)
    households.draw_category(rng, hh, fam.head_age)
    mem, member_columns = members.draw(rng, hh, fam, first_day, reference)
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
    return {kind: _typed(kind, cols) for kind, cols in columns.items()}


def _typed(kind: Kind, cols: dict[str, pa.Array]) -> pa.Table:
    schema = arrow_schema(kind)
    return pa.table({name: cols[name] for name in schema.names}).cast(schema)


def generate_tables(config: SynthConfig) -> Iterator[tuple[Kind, pa.Table]]:
    """The registry as Arrow tables: regions first, then each county's four tables."""
    layout = plan(config)
    yield Kind.REGIONS, layout.regions.cast(arrow_schema(Kind.REGIONS))
    for county in layout.counties:
        yield from county_tables(config, county).items()


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
            for kind, table in generate_tables(config):
                writers[kind].write(table)
                summary.counts[kind] += table.num_rows
                done += table.num_rows if kind is Kind.HOUSEHOLDS else 0
                # A county's last table ends its chunk.
                if kind is COUNTY_KINDS[-1] and progress is not None:
                    progress(done, config.households)
    except BaseException:
        for path in partial.values():
            path.unlink(missing_ok=True)
        raise
    for kind, path in partial.items():
        summary.paths[kind] = path.replace(out_dir / file_name(kind, fmt))
    return summary
