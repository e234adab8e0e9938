"""The survey estimator's rules beyond the R cases: refusals, edge cases, and its speed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tuopin.analytics.survey import estimate
from tuopin.analytics.survey.table import estimate_table
from tuopin.domain.errors import ValidationFailed

# 2 strata x 2 PSUs x 2 units
Y = np.array([1.0, 2.0, 3.0, 5.0, 4.0, 4.0, 6.0, 9.0])
STRATA = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
PSU = np.array([1, 1, 2, 2, 1, 1, 2, 2])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fpc": np.array([10, 10, 10, 10, 0.5, 0.5, 0.5, 0.5])}, "mixes population counts"),
        ({"fpc": np.array([10, 10, 10, 12, 8, 8, 8, 8])}, "differs within stratum 'a'"),
        ({"fpc": np.array([10, 10, 10, 10, 1, 1, 1, 1])}, "stratum 'b' has 1 PSUs, but 2"),
        ({"fpc": np.array([0.5] * 7 + [np.nan])}, "fpc must be a positive number"),
        ({"fpc": np.zeros(8)}, "fpc must be a positive number"),
        ({"weights": np.array([1.0] * 7 + [0.0])}, "weights must be positive"),
        ({"weights": np.array([1.0] * 7 + [np.nan])}, "weights must be positive"),
        ({"proportion": True}, "needs y to be 0 or 1; found 2"),
        ({"lonely_psu": "collapse"}, "lonely-PSU rule must be one of fail, adjust"),
        ({"strata": np.array(["a"] * 7 + [None], dtype=object)}, "strata has missing values"),
        ({"psu": np.array([1, 1, 2, 2, 1, 1, 2, "x"], dtype=object)}, "psu mixes numbers"),
    ],
)
def test_it_refuses_a_design_it_cannot_estimate_with_a_clear_message(
        options: dict[str, Any], message: str) -> None:
    design: dict[str, Any] = {"strata": STRATA, "psu": PSU, **options}
    with pytest.raises(ValidationFailed, match=message):
        estimate(np.where(np.arange(8) == 1, 2.0, 1.0) if "proportion" in options else Y,
                 **design)


def test_a_sample_of_one_psu_is_refused_whatever_the_lonely_rule() -> None:
    with pytest.raises(ValidationFailed, match="single PSU"):
        estimate(Y, psu=np.ones(8), lonely_psu="adjust")
    with pytest.raises(ValidationFailed, match="single unit"):
        estimate(Y[:1])


def test_a_y_with_no_value_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="no value in any row"):
        estimate(np.full(8, np.nan), strata=STRATA, psu=PSU)


def test_one_psu_taken_with_certainty_by_the_fpc_is_not_lonely_and_adds_nothing() -> None:
    strata = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2, dtype=object)
    psu = np.concatenate([PSU, [1, 1]])
    y = np.concatenate([Y, [7.0, 8.0]])
    fpc = np.array([20.0] * 8 + [1.0] * 2)
    with_certain = estimate(y, strata=strata, psu=psu, weights=np.ones(10), fpc=fpc)
    removed = estimate(y, strata=strata, psu=psu, weights=np.ones(10),
                       fpc=np.array([20.0] * 8 + [5.0] * 2), lonely_psu="remove")
    assert with_certain.total.se == pytest.approx(removed.total.se, rel=1e-12)
    assert with_certain.degf == 5 - 3


def test_with_every_stratum_lonely_the_average_rule_has_no_variance_and_no_df() -> None:
    result = estimate(Y[:4], strata=np.array(["a", "a", "b", "b"]), psu=np.ones(4),
                      lonely_psu="average")
    assert result.degf == 0
    assert result.mean is not None
    assert (result.mean.se, result.mean.ci95, result.mean.ci95_t) == (None, None, None)


def test_with_no_degrees_of_freedom_t_and_logit_intervals_are_null_as_in_r() -> None:
    y = np.array([0.0, 1.0, 1.0, 0.0])
    result = estimate(y, strata=np.array(["a", "a", "b", "b"]), psu=np.ones(4),
                      proportion=True, lonely_psu="adjust")
    assert result.degf == 0 and result.proportion is not None
    assert result.proportion.ci95 is None
    assert result.proportion.ci95_wald is not None
    assert result.total.ci95_t is None and result.total.ci95 is not None


def test_domain_levels_sort_as_numbers_and_a_missing_label_is_in_no_domain() -> None:
    by = np.array([10, 2, 10, 2, 10, 2, 10, 2])
    result = estimate(Y, strata=STRATA, psu=PSU, by=by)
    assert result.domains is not None
    assert [d.level for d in result.domains] == ["2", "10"]
    labelled = np.array(["x", None, "x", "y", None, "y", "x", "y"], dtype=object)
    domains = estimate(Y, strata=STRATA, psu=PSU, by=labelled).domains
    assert domains is not None
    assert [(d.level, d.n) for d in domains] == [("x", 3), ("y", 3)]


def test_the_to_dict_has_the_issue_s_keys_in_order() -> None:
    result = estimate(Y, strata=STRATA, psu=PSU, by=PSU).to_dict()
    assert list(result) == ["n", "n_rows", "sum_weights", "degf", "mean", "total", "domains"]
    assert list(result["mean"]) == ["estimate", "se", "ci95", "ci95_t", "deff"]
    assert list(result["domains"][0]) == ["level", "n", "sum_weights", "degf", "mean", "total"]
    share = estimate((Y > 3).astype(float), proportion=True).to_dict()
    assert list(share) == ["n", "n_rows", "sum_weights", "degf", "proportion", "total"]
    assert list(share["proportion"]) == ["estimate", "se", "ci95", "ci95_wald", "deff"]


def test_a_table_s_columns_are_estimated_by_name() -> None:
    frame = pd.DataFrame({"y": Y, "s": STRATA, "p": PSU, "d": ["u", "v"] * 4})
    by_name = estimate_table(frame, y="y", strata="s", psu="p", by="d").to_dict()
    assert by_name == estimate(Y, strata=STRATA, psu=PSU,
                               by=np.array(["u", "v"] * 4, dtype=object)).to_dict()


def test_a_million_rows_with_strata_psus_fpc_and_thirty_domains_take_about_a_second() -> None:
    rng = np.random.default_rng(5)
    n = 1_000_000
    strata = rng.integers(0, 100, n)
    y = rng.normal(10.0, 2.0, n)
    y[rng.random(n) < 0.05] = np.nan
    start = time.perf_counter()
    result = estimate(y, strata=strata, psu=rng.integers(0, 40, n),
                      weights=rng.uniform(1.0, 6.0, n), fpc=np.full(n, 400.0),
                      by=rng.integers(0, 30, n))
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0
    assert result.degf == 100 * 40 - 100
    assert result.domains is not None and len(result.domains) == 30
