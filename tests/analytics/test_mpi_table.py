"""From a table to MPI results: columns, missing rows, refusals, output shape and speed."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuopin.analytics.mpi import af_measures, mpi_from_table, read_table
from tuopin.domain.errors import ValidationFailed

# Five households: deprivation in income (< 3000), school (0/1) and water (0/1).
HOUSEHOLDS = {
    "income": [1000.0, 5000.0, 2500.0, 8000.0, 2000.0],
    "school": [1, 0, 1, 0, 0],
    "water": [1, 0, 0, 0, 1],
    "persons": [4, 2, 5, 3, 1],
    "village": ["东村", "西村", "东村", "西村", "东村"],
}
INDICATORS = ["income", "school", "water"]
CUTOFFS = {"income": 3000}


def households(**columns: list[object]) -> pa.Table:
    return pa.table({**HOUSEHOLDS, **columns})


def measure(table: object = None, **options: object) -> object:
    arguments: dict[str, object] = {"indicators": INDICATORS, "k": 1 / 3, "cutoffs": CUTOFFS}
    arguments.update(options)
    return mpi_from_table(households() if table is None else table, **arguments)


def test_the_json_output_has_the_keys_the_issue_requires() -> None:
    data = measure(by="village").to_dict()
    required = {"n", "H", "A", "M0", "uncensored_headcounts", "censored_headcounts",
                "contributions", "se", "ci95", "groups"}
    assert required <= set(data)
    assert set(data["se"]) == set(data["ci95"]) == {"M0", "H", "A"}
    assert all(len(bounds) == 2 for bounds in data["ci95"].values())
    assert set(data["groups"]) == {"东村", "西村"}
    group = data["groups"]["东村"]
    assert {"population_share", "H", "A", "M0", "contribution", "se", "ci95"} <= set(group)
    assert set(group["se"]) == set(group["ci95"]) == {"M0", "H"}
    json.dumps(data, allow_nan=False, ensure_ascii=False)


def test_groups_appear_only_when_a_by_column_is_given() -> None:
    assert "groups" not in measure().to_dict()
    assert measure().groups is None


def test_household_rows_weighted_by_persons_count_persons() -> None:
    """Scores: 1, 0, 2/3, 0, 2/3 of 3 indicators; poor at k = 1/3 are households 1, 3, 5."""
    result = measure(sample_weight="persons")
    assert result.population == 15
    assert result.H == pytest.approx((4 + 5 + 1) / 15)
    assert result.M0 == pytest.approx((4 * 1 + 5 * 2 / 3 + 1 * 2 / 3) / 15)
    assert result.uncensored_headcounts["income"] == pytest.approx((4 + 5 + 1) / 15)


def test_a_registry_deprivation_matrix_of_integers_gives_the_same_result() -> None:
    table = households()
    matrix = np.column_stack([np.array(HOUSEHOLDS["income"]) < 3000,
                              HOUSEHOLDS["school"], HOUSEHOLDS["water"]]).astype(int)
    direct = af_measures(matrix, [1 / 3] * 3, 1 / 3, indicator_names=INDICATORS,
                         sample_weight=np.array(HOUSEHOLDS["persons"]),
                         by=np.array(HOUSEHOLDS["village"]))
    assert direct.to_dict() == measure(table, sample_weight="persons", by="village").to_dict()


def test_a_pandas_dataframe_is_accepted() -> None:
    frame = pd.DataFrame(HOUSEHOLDS)
    assert measure(frame).to_dict() == measure().to_dict()


def test_rows_with_a_missing_value_in_any_used_column_are_dropped_and_counted() -> None:
    table = households(income=[1000.0, None, 2500.0, float("nan"), 2000.0],
                       village=["东村", "西村", None, "西村", "东村"])
    result = measure(table, by="village")
    assert (result.n, result.dropped) == (2, 3)
    assert result.H == 1.0


def test_missing_values_in_unused_columns_do_not_drop_rows() -> None:
    table = households(village=[None, None, None, None, None])
    assert measure(table).dropped == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"table": households(water=[1, 0, 2, 0, 1])}, "indicator 'water' .* found 2"),
        ({"table": households(water=[1, 0, 0.5, 0, 1])}, "indicator 'water' .* found 0.5"),
        ({"table": households(water=["yes", "no", "no", "no", "yes"])},
         "indicator 'water' .* found 'yes'"),
        ({"weights": {"income": 0.5, "school": 0.25, "water": 0.3}}, "must sum to 1"),
        ({"weights": {"income": 0.5, "school": 0.5}}, "no weight for: water"),
        ({"weights": {"income": 0.5, "school": 0.25, "water": 0.25, "roof": 0.0}},
         "not indicators: roof"),
        ({"indicators": ["income", "roof"]}, "unknown column.*roof"),
        ({"by": "county"}, "unknown column.*county"),
        ({"cutoffs": {"roof": 1}}, "cutoffs given for columns that are not indicators: roof"),
        ({"cutoffs": {"village": 1}, "indicators": ["village"]}, "cutoff, so it must be numeric"),
        ({"k": 0}, r"k must be in \(0, 1\]"),
        ({"k": -0.2}, r"k must be in \(0, 1\]"),
        ({"k": 1.5}, r"k must be in \(0, 1\]"),
        ({"k": math.nan}, r"k must be in \(0, 1\]"),
        ({"indicators": []}, "at least one indicator"),
        ({"indicators": ["school", "school"]}, "listed twice: school"),
        ({"table": households(income=[None] * 5)}, "no rows left"),
        ({"table": households(persons=[1, -2, 1, 1, 1]), "sample_weight": "persons"},
         "'persons' must be finite and non-negative; found -2.0"),
        ({"table": households(persons=[0, 0, 0, 0, 0]), "sample_weight": "persons"},
         "sum to zero"),
        ({"dimensions": {"health": ["roof"]}}, "unknown indicator 'roof'"),
        ({"table": households(village=["东村", "西村", "东村", "东村", "东村"]),
          "strata": "village"}, "stratum '西村' has a single unit"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(options: dict[str, object],
                                                   message: str) -> None:
    table = options.pop("table", None)
    with pytest.raises(ValidationFailed, match=message):
        measure(table, **options)


def test_a_non_binary_indicator_is_refused_even_in_a_row_dropped_for_another_column() -> None:
    table = households(water=[1, 0, 7, 0, 1], income=[1000.0, 5000.0, None, 8000.0, 2000.0])
    with pytest.raises(ValidationFailed, match="found 7"):
        measure(table)


def test_booleans_and_zero_one_floats_are_valid_binary_indicators() -> None:
    as_bool = households(school=[True, False, True, False, False])
    as_float = households(school=[1.0, 0.0, 1.0, 0.0, 0.0])
    assert measure(as_bool).to_dict() == measure(as_float).to_dict() == measure().to_dict()


def test_dimension_contributions_add_up_their_indicators() -> None:
    result = measure(dimensions={"money": ["income"], "services": ["school", "water"]})
    assert result.dimension_contributions == pytest.approx({
        "money": result.contributions["income"],
        "services": result.contributions["school"] + result.contributions["water"],
    })
    assert "dimension_contributions" in result.to_dict()


def test_vulnerable_and_severe_are_population_shares_of_score_bands() -> None:
    """Scores 0, 0.25, 0.5, 0.75, 1 with weights (0.5, 0.25, 0.25) and k = 0.6."""
    matrix = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=bool)
    default = af_measures(matrix, [0.5, 0.25, 0.25], 0.6, indicator_names=INDICATORS)
    assert (default.vulnerable, default.severe) == (2 / 5, 3 / 5)  # 0.25 and 0.5; 0.5 up
    banded = af_measures(matrix, [0.5, 0.25, 0.25], 0.6, indicator_names=INDICATORS,
                         vulnerable=(0.3, 0.5), severe=0.9)
    assert (banded.vulnerable, banded.severe) == (0.0, 1 / 5)


def test_nobody_poor_gives_zeros_and_point_intervals_without_crashing() -> None:
    matrix = np.zeros((4, 2), dtype=bool)
    result = af_measures(matrix, [0.5, 0.5], 0.5, indicator_names=["a", "b"],
                         by=np.array([1, 1, 2, 2]))
    assert (result.H, result.A, result.M0) == (0.0, 0.0, 0.0)
    assert result.se == {"M0": 0.0, "H": 0.0, "A": 0.0}
    assert result.ci95 == {"M0": (0.0, 0.0), "H": (0.0, 0.0), "A": (0.0, 0.0)}
    assert set(result.contributions.values()) == {0.0}
    assert result.groups is not None and result.groups["1"].contribution == 0.0


def test_everybody_fully_deprived_gives_ones_and_point_intervals() -> None:
    result = af_measures(np.ones((3, 2), dtype=bool), [0.5, 0.5], 1.0,
                         indicator_names=["a", "b"])
    assert (result.H, result.A, result.M0) == (1.0, 1.0, 1.0)
    assert result.ci95["M0"] == (1.0, 1.0)


def test_a_deprivation_matrix_with_other_values_than_zero_and_one_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="only 0 and 1"):
        af_measures(np.array([[0, 2], [1, 0]]), [0.5, 0.5], 0.5, indicator_names=["a", "b"])


def test_read_table_reads_csv_in_utf8_and_gb18030_xlsx_and_parquet(tmp_path: Path) -> None:
    text = "村,收入\n东村,1000\n西村,\n"
    (tmp_path / "utf8.csv").write_text(text, encoding="utf-8")
    (tmp_path / "gbk.csv").write_bytes(text.encode("gb18030"))
    pq.write_table(pa.table({"村": ["东村", "西村"], "收入": [1000, None]}),
                   tmp_path / "data.parquet")
    pd.DataFrame({"村": ["东村", "西村"], "收入": [1000, None]}).to_excel(
        tmp_path / "data.xlsx", index=False)
    for name in ("utf8.csv", "gbk.csv", "data.parquet", "data.xlsx"):
        table = read_table(tmp_path / name)
        assert table.column("村").to_pylist() == ["东村", "西村"]
        assert table.column("收入").to_pylist() == [1000, None]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "no such file"),
        ("data.xlsx", b"x", "not a readable XLSX workbook"),
        ("data.txt", b"a\n1\n", "use a .csv, .xlsx or .parquet file"),
        ("broken.parquet", b"not parquet", "cannot read broken.parquet"),
        ("ragged.csv", b"a,b\n1,2,3\n", "cannot read ragged.csv"),
    ],
)
def test_read_table_refuses_what_it_cannot_read(tmp_path: Path, name: str,
                                                content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(ValidationFailed, match=message):
        read_table(tmp_path / name)


def test_a_million_units_with_a_full_design_take_under_three_seconds() -> None:
    rng = np.random.default_rng(7)
    n, d = 1_000_000, 10
    matrix = rng.random((n, d), dtype=np.float32) < 0.3
    options = {
        "sample_weight": rng.uniform(1.0, 6.0, n),
        "strata": rng.integers(0, 100, n),
        "psu": rng.integers(0, 40, n),
        "by": rng.integers(0, 30, n),
    }
    start = time.perf_counter()
    result = af_measures(matrix, np.full(d, 1 / d), 1 / 3,
                         indicator_names=[f"x{j}" for j in range(d)], **options)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0
    assert (result.n, result.df) == (n, 100 * 40 - 100)
    assert result.groups is not None and len(result.groups) == 30
