"""Textbook identities of the Alkire-Foster measures, and a naive second implementation."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tuopin.analytics.mpi import MpiResult, af_measures

RELAXED = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Survey:
    rows: list[list[bool]]
    weights: list[float]
    k: float
    p: list[float]
    strata: list[int]
    psu: list[int]
    group: list[int]

    @property
    def names(self) -> list[str]:
        return [f"i{j}" for j in range(len(self.weights))]

    def measure(self, *, design: bool = True, by: bool = True, **changes: object) -> MpiResult:
        options: dict[str, object] = {"sample_weight": np.array(self.p)}
        if design:
            options.update(strata=np.array(self.strata), psu=np.array(self.psu))
        if by:
            options["by"] = np.array(self.group)
        options.update(changes)
        return af_measures(np.array(self.rows, dtype=bool).reshape(len(self.rows), -1),
                           self.weights, self.k, indicator_names=self.names, **options)


@st.composite
def surveys(draw: st.DrawFn, min_psu: int = 2) -> Survey:
    strata, psu = [], []
    for h in range(draw(st.integers(1, 3))):
        for c in range(draw(st.integers(min_psu, 4))):
            size = draw(st.integers(1, 4))
            strata += [h] * size
            psu += [c] * size
    n, d = len(strata), draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(st.booleans(), min_size=d, max_size=d), min_size=n,
                         max_size=n))
    raw = draw(st.lists(st.integers(1, 6), min_size=d, max_size=d))
    weights = [w / sum(raw) for w in raw]
    # Half the time k is a score someone can reach exactly, to exercise the c >= k boundary.
    subset = draw(st.lists(st.booleans(), min_size=d, max_size=d))
    exact = sum(w for w, used in zip(weights, subset, strict=True) if used)
    k = exact if exact > 0 and draw(st.booleans()) else draw(st.floats(0.01, 1.0))
    p = draw(st.lists(st.floats(0.25, 8.0), min_size=n, max_size=n))
    group = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return Survey(rows, weights, k, p, strata, psu, group)


def naive(survey: Survey) -> dict[str, object]:
    """Per-unit loops and the formulas of MPI.md section 4, sharing nothing with the module."""
    n = len(survey.rows)
    scores = [sum(w for w, g in zip(survey.weights, row, strict=True) if g) for row in survey.rows]
    poor = [1.0 if c >= survey.k - 1e-9 else 0.0 for c in scores]
    censored = [c * q for c, q in zip(scores, poor, strict=True)]
    ones = [1.0] * n
    everyone = [True] * n
    out: dict[str, object] = {
        "M0": ratio_and_se(survey, censored, ones, everyone),
        "H": ratio_and_se(survey, poor, ones, everyone),
        "A": ratio_and_se(survey, censored, poor, everyone),
    }
    for g in sorted(set(survey.group)):
        members = [x == g for x in survey.group]
        out[str(g)] = {"M0": ratio_and_se(survey, censored, ones, members),
                       "H": ratio_and_se(survey, poor, ones, members)}
    return out


def ratio_and_se(survey: Survey, top: list[float], bottom: list[float],
                 members: list[bool]) -> tuple[float, float]:
    num = den = 0.0
    for i in range(len(top)):
        if members[i]:
            num += survey.p[i] * top[i]
            den += survey.p[i] * bottom[i]
    r = num / den if den > 0 else 0.0
    totals: dict[tuple[int, int], float] = defaultdict(float)
    for i in range(len(top)):
        z = survey.p[i] * (top[i] - r * bottom[i]) / den if members[i] and den > 0 else 0.0
        totals[(survey.strata[i], survey.psu[i])] += z
    by_stratum: dict[int, list[float]] = defaultdict(list)
    for (h, _), t in totals.items():
        by_stratum[h].append(t)
    variance = 0.0
    for ts in by_stratum.values():
        mean = sum(ts) / len(ts)
        variance += len(ts) / (len(ts) - 1) * sum((t - mean) ** 2 for t in ts)
    return r, math.sqrt(max(variance, 0.0))


@RELAXED
@given(surveys())
def test_a_naive_loop_implementation_gives_the_same_estimates_and_ses(survey: Survey) -> None:
    result, expected = survey.measure(), naive(survey)
    for key in ("M0", "H", "A"):
        estimate, se = expected[key]
        assert getattr(result, key) == pytest.approx(estimate, rel=1e-9, abs=1e-12)
        assert result.se[key] == pytest.approx(se, rel=1e-7, abs=1e-12)
    assert result.groups is not None
    for label, group in result.groups.items():
        for key in ("M0", "H"):
            estimate, se = expected[label][key]
            assert getattr(group, key) == pytest.approx(estimate, rel=1e-9, abs=1e-12)
            assert group.se[key] == pytest.approx(se, rel=1e-7, abs=1e-12)


@RELAXED
@given(surveys())
def test_m0_is_h_times_a_and_the_weighted_sum_of_censored_headcounts(survey: Survey) -> None:
    result = survey.measure()
    assert result.M0 == pytest.approx(result.H * result.A, abs=1e-12)
    weighted = sum(w * result.censored_headcounts[name]
                   for w, name in zip(survey.weights, survey.names, strict=True))
    assert result.M0 == pytest.approx(weighted, abs=1e-12)


@RELAXED
@given(surveys())
def test_contributions_sum_to_one_or_are_all_zero_without_poverty(survey: Survey) -> None:
    result = survey.measure()
    total = sum(result.contributions.values())
    if result.M0 > 0:
        assert total == pytest.approx(1.0, abs=1e-12)
    else:
        assert set(result.contributions.values()) == {0.0}


@RELAXED
@given(surveys())
def test_subgroups_decompose_m0_and_h_by_population_share(survey: Survey) -> None:
    result = survey.measure()
    assert result.groups is not None
    groups = result.groups.values()
    assert sum(g.population_share for g in groups) == pytest.approx(1.0, abs=1e-12)
    assert sum(g.population_share * g.M0 for g in groups) == pytest.approx(result.M0, abs=1e-12)
    assert sum(g.population_share * g.H for g in groups) == pytest.approx(result.H, abs=1e-12)
    if result.M0 > 0:
        assert sum(g.contribution for g in groups) == pytest.approx(1.0, abs=1e-12)
    for name in survey.names:
        by_group = sum(g.population_share * g.censored_headcounts[name] for g in groups)
        assert by_group == pytest.approx(result.censored_headcounts[name], abs=1e-12)


@RELAXED
@given(surveys())
def test_union_counts_anyone_deprived_and_intersection_those_deprived_in_all(
    survey: Survey,
) -> None:
    p = np.array(survey.p)
    rows = np.array(survey.rows, dtype=bool).reshape(len(survey.rows), -1)
    union = af_measures(rows, survey.weights, min(survey.weights), indicator_names=survey.names,
                        sample_weight=p)
    intersection = af_measures(rows, survey.weights, 1.0, indicator_names=survey.names,
                               sample_weight=p)
    assert union.H == pytest.approx(p[rows.any(axis=1)].sum() / p.sum(), abs=1e-12)
    assert intersection.H == pytest.approx(p[rows.all(axis=1)].sum() / p.sum(), abs=1e-12)
    assert intersection.A == pytest.approx(1.0 if intersection.H > 0 else 0.0, abs=1e-12)


@RELAXED
@given(surveys(), st.booleans())
def test_replicating_every_row_twice_leaves_h_a_and_m0_unchanged(survey: Survey,
                                                                  weighted: bool) -> None:
    rows = np.array(survey.rows, dtype=bool).reshape(len(survey.rows), -1)
    p = np.array(survey.p) if weighted else None
    once = af_measures(rows, survey.weights, survey.k, indicator_names=survey.names,
                       sample_weight=p)
    twice = af_measures(np.vstack([rows, rows]), survey.weights, survey.k,
                        indicator_names=survey.names,
                        sample_weight=None if p is None else np.concatenate([p, p]))
    assert (twice.H, twice.A, twice.M0) == pytest.approx((once.H, once.A, once.M0), abs=1e-12)
    assert twice.n == 2 * once.n


@RELAXED
@given(surveys(), st.floats(0.001, 1000.0))
def test_scaling_all_sample_weights_changes_nothing_but_the_population(survey: Survey,
                                                                        factor: float) -> None:
    base = survey.measure()
    scaled = survey.measure(sample_weight=np.array(survey.p) * factor)
    plain, other = base.to_dict(), scaled.to_dict()
    assert other.pop("population") == pytest.approx(plain.pop("population") * factor)
    assert other == nested_approx(plain)


def nested_approx(value: object) -> object:
    if isinstance(value, dict):
        return {key: nested_approx(item) for key, item in value.items()}
    if isinstance(value, list):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    return value


@RELAXED
@given(surveys())
def test_the_srs_se_equals_the_design_se_with_every_unit_its_own_psu_in_one_stratum(
    survey: Survey,
) -> None:
    """The relationship is equality, not an approximation.

    Design: V = n/(n-1) * sum_i (z_i - mean z)^2 with z_i = p_i(y_i - theta)/sum p, and
    mean z = 0. Unweighted, that is n/(n-1) * sum (y - ybar)^2 / n^2 = s^2/n with the n-1
    denominator in s^2: sd/sqrt(n). Both have df = n - 1.
    """
    n = len(survey.rows)
    srs = survey.measure(design=False)
    own_psu = survey.measure(design=False, strata=np.zeros(n, dtype=int), psu=np.arange(n))
    assert own_psu.se == pytest.approx(srs.se, rel=1e-12, abs=1e-15)
    assert own_psu.df == srs.df == n - 1
    assert own_psu.groups is not None and srs.groups is not None
    for label, group in srs.groups.items():
        assert own_psu.groups[label].se == pytest.approx(group.se, rel=1e-12, abs=1e-15)


@RELAXED
@given(surveys())
def test_the_unweighted_srs_se_of_m0_and_h_is_the_sample_sd_over_root_n(survey: Survey) -> None:
    result = survey.measure(design=False, by=False, sample_weight=None)
    n = len(survey.rows)
    scores = np.array(survey.rows, dtype=bool).reshape(n, -1) @ np.array(survey.weights)
    poor = scores >= survey.k - 1e-9
    assert result.se["H"] == pytest.approx(np.std(poor, ddof=1) / math.sqrt(n), abs=1e-12)
    assert result.se["M0"] == pytest.approx(np.std(scores * poor, ddof=1) / math.sqrt(n),
                                            abs=1e-12)


@RELAXED
@given(surveys(), st.booleans())
def test_standard_errors_are_zero_when_everyone_is_identical(survey: Survey,
                                                             deprived: bool) -> None:
    row = [deprived] * len(survey.weights)
    identical = Survey([row] * len(survey.rows), survey.weights, survey.k, survey.p,
                       survey.strata, survey.psu, survey.group)
    result = identical.measure()
    assert result.se == pytest.approx({"M0": 0.0, "H": 0.0, "A": 0.0}, abs=1e-12)
    assert result.groups is not None
    for group in result.groups.values():
        assert group.se == pytest.approx({"M0": 0.0, "H": 0.0}, abs=1e-12)


@RELAXED
@given(surveys())
def test_confidence_intervals_contain_the_point_estimate_within_zero_one(
    survey: Survey,
) -> None:
    result = survey.measure()
    intervals = [(getattr(result, key), result.ci95[key]) for key in ("M0", "H", "A")]
    assert result.groups is not None
    for group in result.groups.values():
        intervals += [(getattr(group, key), group.ci95[key]) for key in ("M0", "H")]
    for estimate, (low, high) in intervals:
        assert 0.0 <= low <= estimate + 1e-12
        assert estimate - 1e-12 <= high <= 1.0
