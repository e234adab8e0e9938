"""The fast paths of the MPI calculator give the numbers of the plain computation.

Units are reduced to deprivation profiles, cell totals are counted by censored-score level,
text categories are coded from their dictionary and a file is read column by column; each
is checked against a direct computation on the same data, whichever path a size selects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tuopin.analytics.mpi import af_measures, mpi_from_file, mpi_from_table
from tuopin.analytics.mpi import measures as measures_module
from tuopin.analytics.mpi.profiles import profiles_of_matrix
from tuopin.analytics.survey import compact
from tuopin.analytics.survey.table import coded_column, read_table, to_numpy
from tuopin.domain.errors import RuleBroken


def survey(n: int, d: int, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 6, n)
    return {"g0": rng.random((n, d)) < 0.35, "p": rng.uniform(1.0, 4.0, n), "strata": strata,
            "psu": strata * 50 + rng.integers(0, 8, n), "by": rng.integers(0, 40, n)}


def direct(data: dict[str, np.ndarray], k: float) -> tuple[float, float, np.ndarray]:
    """H, M0 and the censored headcounts, computed unit by unit."""
    g0, p = data["g0"], data["p"]
    scores = g0.mean(axis=1)
    poor = scores >= k - 1e-9
    return (float(p @ poor / p.sum()), float(p @ (scores * poor) / p.sum()),
            (p * poor) @ g0 / p.sum())


def nested_approx(value: object) -> object:
    if isinstance(value, dict):
        return {key: nested_approx(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nested_approx(item) for item in value]
    return pytest.approx(value, rel=1e-12, abs=1e-15) if isinstance(value, float) else value


@pytest.mark.parametrize("d", [3, 17, 70])  # a table of every profile; numbered; sorted rows
def test_profiles_stand_for_the_rows_they_code(d: int) -> None:
    g0 = survey(2000, d)["g0"]
    profiles = profiles_of_matrix(g0, n_groups=40)
    assert (profiles.rows[profiles.codes] == g0).all()


@pytest.mark.parametrize("d", [3, 17, 70])
def test_measures_on_profiles_equal_the_unit_by_unit_sums(d: int) -> None:
    data = survey(3000, d)
    result = af_measures(data["g0"], np.full(d, 1 / d), 0.3, indicator_names=[
        f"i{j}" for j in range(d)], sample_weight=data["p"], strata=data["strata"],
        psu=data["psu"], by=data["by"])
    h, m0, censored = direct(data, 0.3)
    assert result.H == pytest.approx(h, abs=1e-12)
    assert result.M0 == pytest.approx(m0, abs=1e-12)
    assert list(result.censored_headcounts.values()) == pytest.approx(censored, abs=1e-12)


def test_cell_totals_by_score_level_equal_three_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = survey(4000, 6)
    arguments = {"indicator_names": list("abcdef"), "sample_weight": data["p"],
                 "strata": data["strata"], "psu": data["psu"], "by": data["by"]}
    one_pass = af_measures(data["g0"], np.full(6, 1 / 6), 1 / 3, **arguments)
    monkeypatch.setattr(measures_module, "_LEVEL_CELLS", 0)
    three = af_measures(data["g0"], np.full(6, 1 / 6), 1 / 3, **arguments)
    assert one_pass.se == pytest.approx(three.se, rel=1e-12)
    for label, group in one_pass.groups.items():
        assert group.se == pytest.approx(three.groups[label].se, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("keys", [[5, 3, 3, 9], [-2, 0, 7, -2], [0, 1, 2, 1], [10**9 + 5, 10**9],
                                  [7], list(range(100, 0, -3)), [0, 10**12, 5]])
def test_compact_codes_are_the_ranks_of_the_sorted_distinct_keys(keys: list[int]) -> None:
    codes, distinct = compact(np.array(keys, dtype=np.int64))
    expected, inverse = np.unique(keys, return_inverse=True)
    assert distinct.tolist() == expected.tolist() and codes.tolist() == inverse.tolist()


def test_dictionary_text_is_coded_as_plain_text_is() -> None:
    words = ["é", "z", "a", "Z", None, "b", "é", "a", "东村", ""] * 3
    plain = coded_column(pa.table({"g": words}), "g", missing=True)
    chunks = pa.chunked_array([pa.array(words[:7]).dictionary_encode(),
                               pa.array(words[7:]).dictionary_encode()])
    encoded = coded_column(pa.table({"g": chunks}), "g", missing=True)
    assert encoded.labels == plain.labels
    assert encoded.codes.tolist() == plain.codes.tolist()


def test_arrow_columns_become_the_same_numpy_arrays_as_pyarrow_makes_them() -> None:
    for array in (pa.array([1, 2, 3], pa.int8()), pa.array([1.5, 2.5]),
                  pa.array([True, False, True] * 5).slice(2),
                  pa.chunked_array([pa.array([1, 2], pa.int32()), pa.array([3], pa.int32())]),
                  pa.array([1, None, 3])):
        ours, theirs = to_numpy(array), array.to_numpy(zero_copy_only=False)
        assert ours.dtype == theirs.dtype
        assert np.array_equal(ours, theirs, equal_nan=True)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_read_column_by_column_gives_the_whole_table_s_result(
        tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(5)
    table = pa.table({
        "a": rng.integers(0, 2, 500).astype(np.int8), "b": rng.uniform(0, 3, 500),
        "unused": [f"x{i}" for i in range(500)], "w": rng.uniform(1, 2, 500),
        "s": pa.array([["north", "south", None][i % 3] for i in range(500)]),
        "p": [f"p{i % 23}" for i in range(500)],
        "g": [["东", "西", "z"][i % 3] for i in range(500)]})
    path = tmp_path / f"survey{suffix}"
    if suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=100)
    options = {"indicators": ["a", "b"], "k": 0.5, "cutoffs": {"b": 1.0}, "sample_weight": "w",
               "by": "g", "strata": "s", "psu": "p"}
    whole = mpi_from_table(read_table(path), **options).to_dict()
    assert mpi_from_file(path, **options).to_dict() == nested_approx(whole)
    with pytest.raises(RuleBroken, match="unknown column.*the table has a, b, unused"):
        mpi_from_file(path, **{**options, "by": "nope"})
