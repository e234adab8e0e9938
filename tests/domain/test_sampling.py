"""Sample sizes, systematic PPS with certainty selections, SRS, and the two-stage draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuopin.domain import sampling, verification
from tuopin.domain.verification import Frame, PlanState, Verdict, VerificationKind


@pytest.mark.parametrize(("confidence", "z"), [(0.95, 1.959964), (0.90, 1.644854),
                                               (0.99, 2.575829)])
def test_the_normal_quantile_is_the_two_sided_one(confidence: float, z: float) -> None:
    assert sampling.z_value(confidence) == pytest.approx(z, abs=1e-6)


@pytest.mark.parametrize(("population", "margin", "deff", "p", "expected"), [
    # n0 = 1.959964² × 0.25 / 0.02² × 1.5 = 3601.4: an infinite population
    (10**12, 0.02, 1.5, 0.5, 3602),
    (10_000, 0.02, 1.5, 0.5, 2648),  # 3601.4 / (1 + 3600.4 / 10000) = 2647.9
    (500, 0.02, 1.5, 0.5, 440),  # most of a small frame
    (10**12, 0.05, 1.0, 0.5, 385),  # the textbook 384.1
    (10**12, 0.02, 1.0, 0.02, 189),  # a 2 % rate: 188.2
    (3, 0.02, 1.5, 0.5, 3),  # never more than the frame
    (0, 0.02, 1.5, 0.5, 0),
])
def test_the_sample_size_applies_the_design_effect_and_the_finite_population_correction(
    population: int, margin: float, deff: float, p: float, expected: int,
) -> None:
    n = sampling.sample_size(population, margin=margin, confidence=0.95, deff=deff, p=p)
    assert n == expected
    if 0 < population < 10**12:
        n0 = sampling.initial_size(margin=margin, confidence=0.95, deff=deff, p=p)
        assert n == min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


@pytest.mark.parametrize("bad", [{"margin": 0.0}, {"margin": 1.0}, {"p": 0.0}, {"deff": 0.0},
                                 {"confidence": 1.0}])
def test_a_size_from_impossible_parameters_is_refused(bad: dict[str, float]) -> None:
    given = {"margin": 0.02, "confidence": 0.95, "deff": 1.5, "p": 0.5, **bad}
    with pytest.raises(ValueError):
        sampling.sample_size(1000, **given)


def test_pps_probabilities_are_proportional_to_size_and_add_up_to_the_sample_size() -> None:
    sizes = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], dtype=float)
    probabilities, certain = sampling.pps_probabilities(sizes, 4)
    assert not certain.any()
    assert probabilities.sum() == pytest.approx(4)
    assert probabilities / sizes == pytest.approx(np.full(10, 4 / 550))


def test_a_village_larger_than_the_interval_is_taken_with_certainty() -> None:
    # interval 1000/4 = 250: the 400 is certain; then 600/3 = 200: the 200 is certain too
    sizes = np.array([400, 200, 150, 100, 50, 50, 50], dtype=float)
    probabilities, certain = sampling.pps_probabilities(sizes, 4)
    assert certain.tolist() == [True, True, False, False, False, False, False]
    assert probabilities.sum() == pytest.approx(4)
    assert probabilities[2:] == pytest.approx(sizes[2:] * 2 / 400)
    assert (probabilities <= 1).all()


def test_asking_for_more_villages_than_there_are_takes_every_one() -> None:
    probabilities, certain = sampling.pps_probabilities(np.array([3.0, 0.0, 5.0]), 9)
    assert certain.tolist() == [True, False, True]
    assert probabilities.tolist() == [1.0, 0.0, 1.0]


def test_systematic_pps_draws_exactly_n_distinct_units_in_frame_order() -> None:
    sizes = np.arange(1, 41, dtype=float) * 7 % 53 + 5
    for seed in range(50):
        drawn = sampling.systematic_pps(sizes, 9, sampling.generator(seed))
        assert len(drawn.selected) == 9
        assert (np.diff(drawn.selected) > 0).all()
        assert drawn.probability == pytest.approx(drawn.probabilities[drawn.selected])


def test_systematic_pps_selects_each_unit_with_its_probability() -> None:
    sizes = np.array([5, 40, 15, 60, 10, 25, 35, 10], dtype=float)
    probabilities, _ = sampling.pps_probabilities(sizes, 3)
    trials = 5_000
    hits = np.zeros(len(sizes))
    for seed in range(trials):
        hits[sampling.systematic_pps(sizes, 3, sampling.generator(seed)).selected] += 1
    # binomial standard error at most 0.0071: four of them
    assert hits / trials == pytest.approx(probabilities, abs=0.028)


def test_srs_gives_every_household_the_same_chance() -> None:
    hits = np.zeros(20)
    for seed in range(5_000):
        chosen = sampling.srs(20, 5, sampling.generator(seed))
        assert len(set(chosen.tolist())) == 5 and (np.diff(chosen) > 0).all()
        hits[chosen] += 1
    assert hits / 5_000 == pytest.approx(np.full(20, 0.25), abs=0.03)


def test_srs_of_at_least_the_population_takes_everyone() -> None:
    assert sampling.srs(4, 9, sampling.generator(1)).tolist() == [0, 1, 2, 3]
    assert sampling.srs(4, 0, sampling.generator(1)).tolist() == []


def test_uniform_numbers_come_from_the_raw_stream_and_never_change() -> None:
    # PCG64 seeded by SeedSequence(20200101) is fixed by both algorithms' specifications: a
    # change in NumPy's Generator methods cannot move a sample drawn from these
    values = sampling.uniforms(sampling.generator(20200101), 3)
    raw = np.random.PCG64(np.random.SeedSequence(20200101)).random_raw(3)
    assert values.tolist() == [(int(r) >> 11) * 2.0 ** -53 for r in raw]
    assert (0 <= values).all() and (values < 1).all()


COUNTS = np.array([[5, 40, 3], [12, 80, 6], [0, 30, 1], [25, 120, 9], [8, 50, 2],
                   [3, 20, 0], [15, 95, 5], [9, 60, 3], [30, 210, 12], [6, 35, 2]])


def test_the_same_seed_gives_the_same_sample() -> None:
    one = sampling.draw_two_stage(COUNTS, villages=4, takes=(5, 10, 2), seed=77)
    two = sampling.draw_two_stage(COUNTS, villages=4, takes=(5, 10, 2), seed=77)
    other = sampling.draw_two_stage(COUNTS, villages=4, takes=(5, 10, 2), seed=78)
    for name in ("village", "group", "member", "pi_village", "pi_household"):
        assert getattr(one, name).tolist() == getattr(two, name).tolist()
    assert (one.village.tolist(), one.member.tolist()) != (other.village.tolist(),
                                                           other.member.tolist())


def test_a_villages_draw_depends_only_on_its_own_stream() -> None:
    keys = [621121001001 + i for i in range(len(COUNTS))]
    one = sampling.draw_two_stage(COUNTS, villages=len(COUNTS), takes=(5, 10, 2), seed=3,
                                  keys=keys)
    changed = COUNTS.copy()
    changed[0, 1] += 7  # another village grows
    two = sampling.draw_two_stage(changed, villages=len(COUNTS), takes=(5, 10, 2), seed=3,
                                  keys=keys)
    last = len(COUNTS) - 1
    assert one.member[one.village == last].tolist() == two.member[two.village == last].tolist()


def test_household_probabilities_are_the_share_drawn_in_the_village() -> None:
    sample = sampling.draw_two_stage(COUNTS, villages=5, takes=(5, 10, 2), seed=11)
    for v, g, ph in zip(sample.village, sample.group, sample.pi_household, strict=True):
        assert ph == pytest.approx(min((5, 10, 2)[g], COUNTS[v, g]) / COUNTS[v, g])
    assert sample.probability == pytest.approx(sample.pi_village * sample.pi_household)


def test_inclusion_probabilities_sum_to_the_sample_size() -> None:
    """Over the whole frame: the villages' add up to the villages drawn, and the households'
    (village × household) to the expected number of households drawn."""
    takes = (5, 10, 2)
    probabilities, _ = sampling.pps_probabilities(COUNTS.sum(axis=1), 5)
    assert probabilities.sum() == pytest.approx(5)
    taken = np.minimum(COUNTS, np.array(takes))
    expected = (probabilities[:, None] * taken).sum()
    household_pi = np.concatenate([
        np.full(COUNTS[v, g], probabilities[v] * taken[v, g] / COUNTS[v, g])
        for v in range(len(COUNTS)) for g in range(3) if COUNTS[v, g]])
    assert household_pi.sum() == pytest.approx(expected)
    # and over many draws, the mean sample size is that expectation
    sizes = [len(sampling.draw_two_stage(COUNTS, villages=5, takes=takes, seed=s))
             for s in range(500)]
    assert np.mean(sizes) == pytest.approx(expected, rel=0.03)


def test_weights_estimate_the_frame_size_without_bias() -> None:
    totals = [(1 / sampling.draw_two_stage(COUNTS, villages=4, takes=(5, 10, 2),
                                           seed=s).probability).sum() for s in range(800)]
    assert np.mean(totals) == pytest.approx(COUNTS.sum(), rel=0.02)


def test_villages_drawn_with_probability_share_a_variance_stratum() -> None:
    certain = np.array([False, True, False, False, False])
    labels = sampling.variance_strata(certain, [11, 22, 33, 44, 55])
    assert labels == ["V", "C22", "V", "V", "V"]


@pytest.mark.parametrize(("status", "exited", "frame"), [
    ("exited", 2018, Frame.EXITED), ("exited", None, Frame.EXITED),
    ("exited", 2021, Frame.REGISTERED),  # exited after the year verified: poor in it
    ("monitored", 2017, Frame.EXITED),  # an unstable exited household
    ("monitored", None, Frame.UNREGISTERED),  # a household at the edge
    ("ordinary", None, Frame.UNREGISTERED),
    ("poor", None, Frame.REGISTERED), ("poor", 2017, Frame.REGISTERED),  # returned
])
def test_a_households_frame_follows_from_its_status_in_the_year(
    status: str, exited: int | None, frame: Frame,
) -> None:
    assert verification.frame_of(status, exited, 2020) is frame


@pytest.mark.parametrize(("interval", "comparison", "expected"), [
    ((0.005, 0.015), "below", Verdict.PASS),
    ((0.01, 0.03), "below", Verdict.UNDECIDED),
    ((0.02, 0.05), "below", Verdict.FAIL),  # the threshold itself fails "below 2 %"
    ((0.93, 0.97), "above", Verdict.PASS),
    ((0.85, 0.95), "above", Verdict.UNDECIDED),
    ((0.80, 0.90), "above", Verdict.FAIL),
    (None, "below", Verdict.UNDECIDED),
])
def test_the_verdict_reads_the_whole_interval(interval: tuple[float, float] | None,
                                              comparison: str, expected: Verdict) -> None:
    threshold = 0.9 if comparison == "above" else 0.02
    assert verification.verdict(interval, threshold=threshold,
                                comparison=comparison) is expected


def test_the_shipped_file_names_its_source_and_judges_by_the_exit_criteria() -> None:
    from tuopin.domain import exit_criteria

    assert "国开办发〔2017〕56号" in verification.source()
    known = {c.id for c in exit_criteria.all_criteria()}
    assert [m.id for m in verification.measures()] == list(verification.MEASURE_IDS)
    assert all(m.criterion in known and "56号" in m.source for m in verification.measures())
    third = verification.defaults(VerificationKind.THIRD_PARTY)
    assert (third.margin, third.confidence, third.deff, third.p) == (0.02, 0.95, 1.5, 0.5)
    assert verification.defaults(VerificationKind.SPOT_CHECK).margin > third.margin


def test_a_plan_only_moves_forward() -> None:
    assert [verification.NEXT_STATE.get(s) for s in PlanState] == [
        PlanState.DRAWN, PlanState.RELEASED, PlanState.CLOSED, None]
