"""Planted classification errors: asked for on the command line or in the config, listed in
truth.csv beside the files, and touching nothing but the planted households."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tuopin.cli.main import app
from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import Kind, file_name
from tuopin.synth import SynthConfig, generate
from tuopin.synth.config import parse_plant, parse_years

from .conftest import read_registry

PLANTING = SynthConfig(households=2_000, seed=4, households_per_village=40,
                       villages_per_township=5, townships_per_county=5, funds=False,
                       years=(2018, 2019, 2020), plant_wrong_exits=0.05,
                       plant_missed_poor=0.02)


def test_truth_csv_lists_the_planted_errors_beside_the_files(tmp_path: Path) -> None:
    summary = generate(PLANTING, tmp_path)
    assert summary.truth_path == tmp_path / "truth.csv"
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str)
    assert list(truth.columns) == ["household_number", "error"]
    assert list(truth.itertuples(index=False, name=None)) == summary.truth
    assert set(truth.error) == {"wrongly_exited", "missed_poor"}
    homes = read_registry(tmp_path)[Kind.HOUSEHOLDS].set_index("number")
    status = truth.household_number.map(homes.status)
    assert (status[truth.error == "wrongly_exited"] == "exited").all()
    assert (status[truth.error == "missed_poor"] == "ordinary").all()


def test_a_run_without_planted_errors_leaves_no_truth_csv(tmp_path: Path) -> None:
    generate(PLANTING, tmp_path)
    summary = generate(dataclasses.replace(PLANTING, plant_wrong_exits=0.0,
                                           plant_missed_poor=0.0), tmp_path)
    assert summary.truth == [] and summary.truth_path is None
    assert not (tmp_path / "truth.csv").exists()


def test_planting_changes_only_the_planted_households(tmp_path: Path) -> None:
    generate(PLANTING, tmp_path / "planted")
    generate(dataclasses.replace(PLANTING, plant_wrong_exits=0.0, plant_missed_poor=0.0),
             tmp_path / "clean")
    planted = set(pd.read_csv(tmp_path / "planted" / "truth.csv", dtype=str).household_number)
    for kind in (Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        ours, theirs = (pd.read_csv(tmp_path / name / file_name(kind), dtype=str,
                                    keep_default_na=False) for name in ("planted", "clean"))
        key = "number" if kind is Kind.HOUSEHOLDS else "household_number"
        changed = ours[(ours != theirs).any(axis=1)][key]
        assert set(changed) <= planted, kind
        if kind is Kind.SURVEYS:
            assert set(changed) == planted


@pytest.mark.parametrize(("text", "rates"), [
    ("wrong-exits=0.03,missed-poor=0.01",
     {"plant_wrong_exits": 0.03, "plant_missed_poor": 0.01}),
    ("missed-poor=0.5", {"plant_missed_poor": 0.5}),
    ("", {}),
])
def test_the_plant_option_names_each_rate(text: str, rates: dict[str, float]) -> None:
    assert parse_plant(text) == rates


@pytest.mark.parametrize("text", ["wrong-exits", "wrong_exits=0.1", "missed-poor=lots",
                                  "anomalies=2"])
def test_the_plant_option_refuses_what_it_does_not_know(text: str) -> None:
    with pytest.raises(ValidationFailed, match="--plant"):
        parse_plant(text)


@pytest.mark.parametrize(("text", "years"), [("2014-2020", tuple(range(2014, 2021))),
                                             ("2019,2020", (2019, 2020)), ("2020", (2020,))])
def test_the_years_option_takes_a_range_or_a_list(text: str, years: tuple[int, ...]) -> None:
    assert parse_years(text) == years


def test_the_years_option_refuses_words() -> None:
    with pytest.raises(ValidationFailed, match="--years"):
        parse_years("since 2014")


def test_synth_plants_errors_and_surveys_the_years_asked(tmp_path: Path) -> None:
    keep = tmp_path / "elsewhere.csv"
    result = CliRunner().invoke(app, [
        "synth", "--households", "300", "--seed", "3", "--out", str(tmp_path / "s"),
        "--no-funds", "--years", "2018-2020", "--plant", "wrong-exits=0.1,missed-poor=0.05",
        "--truth", str(keep), "--output", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    counts = json.loads(result.stdout)
    assert counts["surveys"] == 3 * 300 and counts["truth"] > 0
    truth = (tmp_path / "s" / "truth.csv").read_text(encoding="utf-8")
    assert keep.read_text(encoding="utf-8") == truth
    assert len(truth.splitlines()) == counts["truth"] + 1
