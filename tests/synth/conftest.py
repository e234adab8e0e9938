"""Registries generated once per test session, read back as the importer would see them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from tuopin.io.schema import Kind, field_names, file_name
from tuopin.synth import SynthConfig, generate

# Small villages and counties, so that a few thousand households span several counties.
SMALL = SynthConfig(households=3_000, seed=7, households_per_village=20,
                    villages_per_township=5, townships_per_county=5)
# Enough households in enough counties for rates and correlations to be stable (counties
# differ in hardship on purpose).
SEVERAL = SynthConfig(households=24_000, seed=1, households_per_village=15)
# Six counties of a thousand households: enough deaths, helpers and projects to plant every
# rule of `tuopin funds check` in each; eight cases of each, so some counties hold two.
BOOKS = SynthConfig(households=6_000, seed=5, households_per_village=40,
                    villages_per_township=5, townships_per_county=5)
PLANTED = dataclasses.replace(BOOKS, plant_anomalies=8)
# A registry surveyed every year of the campaign (2014-2020) in six counties of a thousand
# households, with wrong exits and missed poor planted at the rates of the verification
# issue: the path of poverty from the register's start to the deadline.
CAMPAIGN = SynthConfig(households=6_000, seed=3, years=tuple(range(2014, 2021)),
                       households_per_village=40, villages_per_township=5,
                       townships_per_county=5, funds=False, plant_wrong_exits=0.03,
                       plant_missed_poor=0.01)


def read_registry(directory: Path) -> dict[Kind, pd.DataFrame]:
    """Every file as text cells, empty string for an empty cell."""
    return {
        kind: pd.read_csv(directory / file_name(kind), dtype=str, keep_default_na=False,
                          usecols=field_names(kind))
        for kind in Kind
    }


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("small")
    generate(SMALL, directory)
    return directory


@pytest.fixture(scope="session")
def small(small_dir: Path) -> dict[Kind, pd.DataFrame]:
    return read_registry(small_dir)


@pytest.fixture(scope="session")
def several(tmp_path_factory: pytest.TempPathFactory) -> dict[Kind, pd.DataFrame]:
    directory = tmp_path_factory.mktemp("several")
    generate(SEVERAL, directory)
    return read_registry(directory)


@pytest.fixture(scope="session")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> dict[Kind, pd.DataFrame]:
    directory = tmp_path_factory.mktemp("campaign")
    generate(CAMPAIGN, directory)
    return read_registry(directory)


@pytest.fixture(scope="session")
def books_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("books")
    generate(BOOKS, directory)
    return directory


@pytest.fixture(scope="session")
def planted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("planted")
    generate(PLANTED, directory)
    return directory
