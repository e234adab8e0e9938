"""Design-based inference: a stratified clustered example worked by hand, t quantiles, CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuopin.analytics.mpi import af_measures, logit_ci, t_quantile
from tuopin.domain.errors import ValidationFailed

# 2 strata x 2 PSUs x 3 units. Weights (0.75, 0.25) and k = 0.5: a unit is poor exactly when it
# is deprived in the first indicator; censored scores c(k) are 0, 0.75 or 1.
#                 stratum psu  p  g0
UNITS = [
    (1, 1, 1, (1, 1)), (1, 1, 2, (0, 0)), (1, 1, 1, (1, 0)),
    (1, 2, 2, (1, 1)), (1, 2, 1, (0, 1)), (1, 2, 1, (0, 0)),
    (2, 3, 1, (0, 0)), (2, 3, 2, (1, 1)), (2, 3, 1, (0, 0)),
    (2, 4, 3, (0, 0)), (2, 4, 1, (1, 0)), (2, 4, 1, (1, 1)),
]
WEIGHTS = [0.75, 0.25]


def hand_example(**options: object) -> object:
    strata, psu, p, g0 = zip(*UNITS, strict=True)
    return af_measures(np.array(g0), WEIGHTS, 0.5, indicator_names=["a", "b"],
                       sample_weight=np.array(p, dtype=float), strata=np.array(strata),
                       psu=np.array(psu), **options)


def hand_variance(totals_by_stratum: list[list[float]]) -> float:
    """V = sum_h n_h/(n_h - 1) * sum_c (t_hc - mean_h)^2 (MPI.md section 4)."""
    variance = 0.0
    for totals in totals_by_stratum:
        n_h, mean = len(totals), sum(totals) / len(totals)
        variance += n_h / (n_h - 1) * sum((t - mean) ** 2 for t in totals)
    return variance


def test_the_hand_worked_stratified_clustered_example_gives_its_point_estimates() -> None:
    """Sum p = 17; sum p*poor = 2+2+2+2 = 8; sum p*c(k) = 1.75+2+2+1.75 = 7.5 (PSUs 1-4)."""
    result = hand_example()
    assert result.H == pytest.approx(8 / 17)
    assert result.M0 == pytest.approx(7.5 / 17)
    assert result.A == pytest.approx(7.5 / 8)
    assert result.df == 4 - 2


def test_the_hand_worked_example_gives_the_linearised_variances_by_the_formula() -> None:
    """PSU totals of z = p(y - theta)/sum(p) (M0, H) and p(c(k) - A*poor)/sum(p*poor) (A).

    PSU c has sum p = 4, 4, 4, 5; sum p*c(k) = 1.75, 2, 2, 1.75; sum p*poor = 2, 2, 2, 2.
    """
    m0, h, a = 15 / 34, 8 / 17, 15 / 16
    sum_p, sum_c, sum_poor = [4, 4, 4, 5], [1.75, 2, 2, 1.75], [2, 2, 2, 2]
    t_m0 = [(c - m0 * p) / 17 for c, p in zip(sum_c, sum_p, strict=True)]
    t_h = [(q - h * p) / 17 for q, p in zip(sum_poor, sum_p, strict=True)]
    t_a = [(c - a * q) / 8 for c, q in zip(sum_c, sum_poor, strict=True)]
    # By hand: t_M0 = (-1, 16, 16, -31)/1156 so V = (289 + 2209)/1156^2; t_H = (2, 2, 2, -6)/289
    # so V = 64/289^2; t_A = (-1, 1, 1, -1)/64 so V = 8/64^2.
    assert hand_variance([t_m0[:2], t_m0[2:]]) == pytest.approx(2498 / 1156**2)
    assert hand_variance([t_h[:2], t_h[2:]]) == pytest.approx(64 / 289**2)
    assert hand_variance([t_a[:2], t_a[2:]]) == pytest.approx(8 / 64**2)
    result = hand_example()
    assert result.se["M0"] == pytest.approx(math.sqrt(2498) / 1156, rel=1e-12)
    assert result.se["H"] == pytest.approx(8 / 289, rel=1e-12)
    assert result.se["A"] == pytest.approx(math.sqrt(8) / 64, rel=1e-12)


def test_the_hand_worked_example_gives_logit_t_intervals_with_two_degrees_of_freedom() -> None:
    result = hand_example()
    t = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # t_{2,p} = (2p - 1)/sqrt(2p(1 - p)), exactly
    for key in ("M0", "H", "A"):
        theta, se = getattr(result, key), result.se[key]
        centre, half = math.log(theta / (1 - theta)), t * se / (theta * (1 - theta))
        expected = (1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half))))
        assert result.ci95[key] == pytest.approx(expected, rel=1e-12)


def test_psu_ids_are_nested_in_strata() -> None:
    """PSU 1 in stratum 1 and PSU 1 in stratum 2 are different PSUs (4 PSUs, df = 2)."""
    strata, psu, p, g0 = zip(*UNITS, strict=True)
    reused = [1 if c in (1, 3) else 2 for c in psu]
    result = af_measures(np.array(g0), WEIGHTS, 0.5, indicator_names=["a", "b"],
                         sample_weight=np.array(p, dtype=float), strata=np.array(strata),
                         psu=np.array(reused))
    assert result.df == 2
    assert result.se == pytest.approx(hand_example().se)


def test_psu_without_strata_is_one_stratum_and_strata_without_psu_make_units_the_psus() -> None:
    strata, psu, p, g0 = zip(*UNITS, strict=True)
    matrix, weights = np.array(g0), np.array(p, dtype=float)
    only_psu = af_measures(matrix, WEIGHTS, 0.5, indicator_names=["a", "b"],
                           sample_weight=weights, psu=np.array(psu))
    only_strata = af_measures(matrix, WEIGHTS, 0.5, indicator_names=["a", "b"],
                              sample_weight=weights, strata=np.array(strata))
    assert (only_psu.df, only_strata.df) == (4 - 1, 12 - 2)
    t_m0 = [(c - 15 / 34 * q) / 17 for c, q in zip([1.75, 2, 2, 1.75], [4, 4, 4, 5],
                                                   strict=True)]
    assert only_psu.se["M0"] == pytest.approx(math.sqrt(hand_variance([t_m0])), rel=1e-12)


def test_a_stratum_with_a_single_psu_is_refused_with_its_name() -> None:
    strata, psu, p, g0 = zip(*UNITS, strict=True)
    lonely = [1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3]
    with pytest.raises(ValidationFailed, match="stratum '3' has a single PSU"):
        af_measures(np.array(g0), WEIGHTS, 0.5, indicator_names=["a", "b"],
                    strata=np.array(lonely), psu=np.array(psu))


def test_a_sample_of_one_unit_is_refused_because_its_se_is_undefined() -> None:
    with pytest.raises(ValidationFailed, match="single unit"):
        af_measures(np.array([[True]]), [1.0], 1.0, indicator_names=["a"])


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706204736174698),
        (0.975, 2, 4.302652729749464),
        (0.975, 3, 3.182446305284263),
        (0.975, 5, 2.570581835636314),
        (0.975, 30, 2.042272456301238),
        (0.975, 100, 1.983971518523552),
        (0.995, 3, 5.840909309733349),
        (0.025, 10, -2.228138851986274),
        (0.5, 7, 0.0),
    ],
)
def test_t_quantiles_match_tabulated_values(p: float, df: float, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_t_quantiles_approach_the_normal_and_fall_with_df() -> None:
    values = [t_quantile(0.975, df) for df in (3, 10, 100, 1000, 10**5, 10**6, 10**8)]
    assert values == sorted(values, reverse=True)
    z = 1.959963984540054
    # Beyond 1e5 df the first Cornish-Fisher term is all that is left of the difference.
    assert values[-1] == pytest.approx(z + (z**3 + z) / 4 / 10**8, rel=1e-15)


@pytest.mark.parametrize("theta", [0.0, 1.0])
def test_a_logit_interval_at_zero_or_one_is_that_point(theta: float) -> None:
    assert logit_ci(theta, 0.01, 1.96) == (theta, theta)


def test_a_logit_interval_is_asymmetric_and_inside_zero_one() -> None:
    low, high = logit_ci(0.05, 0.02, 1.96)
    assert 0 < low < 0.05 < high < 1
    assert 0.05 - low < high - 0.05
