from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import Kind, field_names, file_name
from tuopin.synth import SynthConfig, generate, generate_tables
from tuopin.synth.generate import county_tables
from tuopin.synth.regions import plan

from .conftest import SMALL


def _bytes(directory: Path, fmt: str) -> dict[Kind, bytes]:
    return {kind: (directory / file_name(kind, fmt)).read_bytes() for kind in Kind}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    generate(SMALL, tmp_path / "a", fmt=fmt)
    generate(SMALL, tmp_path / "b", fmt=fmt)
    assert _bytes(tmp_path / "a", fmt) == _bytes(tmp_path / "b", fmt)


def test_a_different_seed_gives_different_files(tmp_path: Path, small_dir: Path) -> None:
    generate(dataclasses.replace(SMALL, seed=SMALL.seed + 1), tmp_path)
    ours, theirs = _bytes(small_dir, "csv"), _bytes(tmp_path, "csv")
    assert all(ours[kind] != theirs[kind] for kind in Kind)


def test_files_have_the_import_format_columns_in_order(small_dir: Path) -> None:
    for kind in Kind:
        with (small_dir / file_name(kind)).open(encoding="utf-8") as handle:
            assert handle.readline().rstrip("\n") == ",".join(field_names(kind))


def test_the_summary_counts_the_rows_written(tmp_path: Path) -> None:
    summary = generate(SMALL, tmp_path, fmt="parquet")
    for kind in Kind:
        assert summary.paths[kind] == tmp_path / file_name(kind, "parquet")
        assert pq.read_metadata(summary.paths[kind]).num_rows == summary.counts[kind]
    assert summary.counts[Kind.HOUSEHOLDS] == SMALL.households
    assert not list(tmp_path.glob("*.part"))


def test_progress_is_reported_per_county_up_to_the_total(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(SMALL, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == len(plan(SMALL).counties) > 1
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (SMALL.households, SMALL.households)


def test_generate_tables_yields_regions_first_then_each_countys_tables() -> None:
    kinds = [kind for kind, _ in generate_tables(SMALL)]
    counties = len(plan(SMALL).counties)
    assert kinds == [Kind.REGIONS] + [Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS,
                                      Kind.HELPERS, Kind.FUNDS, Kind.PROJECTS,
                                      Kind.ALLOCATIONS, Kind.DISBURSEMENTS] * counties


def test_without_funds_it_yields_only_the_registry() -> None:
    kinds = {kind for kind, _ in generate_tables(dataclasses.replace(SMALL, funds=False))}
    assert kinds == {Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS, Kind.HELPERS}


def test_a_county_does_not_depend_on_the_counties_around_it() -> None:
    smaller = dataclasses.replace(SMALL, households=SMALL.households - 1_000)
    big, small = plan(SMALL).counties[1], plan(smaller).counties[1]
    assert big.households == small.households
    for kind, table in county_tables(SMALL, big).items():
        assert table.equals(county_tables(smaller, small)[kind])


def test_a_demo_of_thirty_thousand_households_is_one_county() -> None:
    assert len(plan(SynthConfig(households=30_000)).counties) == 1


def test_twenty_thousand_households_take_a_few_seconds(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = generate(SynthConfig(households=20_000, seed=3), tmp_path)
    elapsed = time.perf_counter() - started
    assert summary.counts[Kind.MEMBERS] > 60_000
    assert elapsed < 5.0, f"took {elapsed:.1f} s"


def test_it_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="format"):
        generate(SMALL, tmp_path, fmt="xlsx")


@pytest.mark.parametrize(
    "changes",
    [
        {"households": 0},
        {"province": "6"},
        {"years": ()},
        {"years": (2020, 2019)},
        {"years": (2012, 2013)},
        {"households_per_village": 20_000},
        {"townships_per_county": 0},
        {"payments_per_household": -1.0},
        {"payments_per_household": 13.0},
        {"plant_anomalies": -1},
        {"plant_anomalies": 1, "funds": False},
        {"plant_wrong_exits": -0.01},
        {"plant_missed_poor": 0.6},
    ],
    ids=lambda changes: ",".join(changes),
)
def test_it_refuses_a_bad_config(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        SynthConfig(**{"households": 10, **changes})  # type: ignore[arg-type]
