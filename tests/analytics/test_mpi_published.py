"""The calculator reproduces published Alkire-Foster figures to their published precision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tuopin.analytics.mpi import deprivation_matrix, deprivation_scores, mpi_from_table, read_table

# Stata's nlsw88 extract (public US data), copied from shared/mpi-testdata with its README.
NLSW88 = Path(__file__).resolve().parents[1] / "data" / "nlsw88_af.csv"
NLSW88_INDICATORS = ["wage", "collgrad", "hours"]
# Deprived when wage < 4, not a college graduate (collgrad < 1), and hours < 26.
NLSW88_CUTOFFS = {"wage": 4, "collgrad": 1, "hours": 26}

# Alkire & Foster (2011), J. Public Econ. 95:476-487 (also OPHI WP 32, 2009), the paper's running
# example: four persons by four dimensions (income, years of schooling, self-rated health, and a
# 0/1 dimension with cutoff 1), cutoffs z = (13, 12, 3, 1).
AF_ACHIEVEMENTS = {
    "income": [13.1, 15.2, 12.5, 20.0],
    "schooling": [14, 7, 10, 11],
    "health": [4, 5, 1, 3],
    "fourth": [1, 0, 0, 1],
}
AF_CUTOFFS = {"income": 13, "schooling": 12, "health": 3, "fourth": 1}


@pytest.fixture(scope="module")
def nlsw88() -> pa.Table:
    return read_table(NLSW88)


def af_example() -> pa.Table:
    return pa.table(AF_ACHIEVEMENTS)


def test_the_af_2011_example_has_the_published_deprivation_counts() -> None:
    """g0 and c = (0, 2, 4, 1) of the running example of Alkire & Foster (2011).

    Source of the matrix: the paper (doi:10.1016/j.jpubeco.2010.11.006); the copy used to check
    the numbers is GitHub perlatex/easyuse, README.md and R/cutoffs_modify_at.R, whose examples
    reproduce the paper's matrix (13.1 14 4 1 / 15.2 7 5 0 / 12.5 10 1 0 / 20 11 3 1) with
    cutoffs 13, 12, 3.
    """
    matrix, kept = deprivation_matrix(af_example(), list(AF_ACHIEVEMENTS), AF_CUTOFFS)
    assert kept.all()
    assert matrix.astype(int).tolist() == [[0, 0, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1], [0, 1, 0, 0]]
    counts = deprivation_scores(matrix, np.ones(4))
    assert counts.tolist() == [0, 2, 4, 1]


def test_the_af_2011_example_at_k_two_of_four_gives_h_a_and_m0_as_published() -> None:
    """H = 1/2, A = 3/4, M0 = HA = 6/16 = 3/8 for k = 2 deprivations of 4 (equal weights)."""
    result = mpi_from_table(af_example(), indicators=list(AF_ACHIEVEMENTS), k=2 / 4,
                            cutoffs=AF_CUTOFFS)
    assert (result.H, result.A, result.M0) == pytest.approx((1 / 2, 3 / 4, 3 / 8), abs=1e-15)
    # Person 4 (one deprivation) is censored: g0(k) keeps persons 2 and 3 only.
    assert result.uncensored_headcounts == pytest.approx(
        {"income": 1 / 4, "schooling": 3 / 4, "health": 1 / 4, "fourth": 2 / 4})
    assert result.censored_headcounts == pytest.approx(
        {"income": 1 / 4, "schooling": 2 / 4, "health": 1 / 4, "fourth": 2 / 4})
    assert result.contributions == pytest.approx(
        {"income": 1 / 6, "schooling": 2 / 6, "health": 1 / 6, "fourth": 2 / 6})


@pytest.mark.parametrize(
    ("k", "h", "a"),
    [
        (1 / 4, 3 / 4, 7 / 12),  # union: anyone deprived in some dimension
        (3 / 4, 1 / 4, 1.0),
        (1.0, 1 / 4, 1.0),  # intersection: only person 3
    ],
)
def test_the_af_2011_example_follows_the_dual_cutoff_at_other_k(k: float, h: float,
                                                                   a: float) -> None:
    result = mpi_from_table(af_example(), indicators=list(AF_ACHIEVEMENTS), k=k,
                            cutoffs=AF_CUTOFFS)
    assert (result.H, result.A, result.M0) == pytest.approx((h, a, h * a), abs=1e-15)


# Published estimates for nlsw88 (n = 2242, equal weights, simple random sample): Jacob, Damico
# & Pessoa, "Poverty and Inequality with Complex Survey Data" (the R convey book), section 4.1
# "Alkire-Foster Class and Decomposition (svyafc, svyafcdec)", tables 4.1 ("PDF Page 10
# Replication") and 4.2 ("PDF Page 13 Replication"), which reproduce Jindra (2015), "mpi: A
# Stata command for the Alkire-Foster methodology", OPHI seminar, 9 November 2015, slides 9-13.
# Found at github.com/guilhermejacob/context, docs/4-1-alkire-foster-class-and-decomposition-
# svyafc-svyafcdec.html (also https://guilhermejacob.github.io/context/...). Columns:
# k, M0, se(M0), H, se(H), A, se(A); printed to 7 decimals.
EQUAL_WEIGHTS_TABLE = [
    (0.1, 0.3699078, 0.0053059, 0.8082070, 0.0083168, 0.4576895, 0.0045734),
    (0.2, 0.3699078, 0.0053059, 0.8082070, 0.0083168, 0.4576895, 0.0045734),
    (0.3, 0.3699078, 0.0053059, 0.8082070, 0.0083168, 0.4576895, 0.0045734),
    (0.4, 0.1865894, 0.0068123, 0.2582516, 0.0092455, 0.7225101, 0.0051745),
    (0.5, 0.1865894, 0.0068123, 0.2582516, 0.0092455, 0.7225101, 0.0051745),
    (0.6, 0.1865894, 0.0068123, 0.2582516, 0.0092455, 0.7225101, 0.0051745),
    (0.7, 0.0432649, 0.0042978, 0.0432649, 0.0042978, 1.0000000, 0.0000000),
    (0.8, 0.0432649, 0.0042978, 0.0432649, 0.0042978, 1.0000000, 0.0000000),
    (0.9, 0.0432649, 0.0042978, 0.0432649, 0.0042978, 1.0000000, 0.0000000),
    (1.0, 0.0432649, 0.0042978, 0.0432649, 0.0042978, 1.0000000, 0.0000000),
]
# The same source, table 4.2: weights wage 0.5, collgrad 0.25, hours 0.25.
UNEQUAL_WEIGHTS_TABLE = [
    (0.50, 0.1913470, 0.0069137, 0.2689563, 0.0093668, 0.7114428, 0.0068474),
    (0.75, 0.1489741, 0.0066918, 0.1842105, 0.0081889, 0.8087167, 0.0052160),
    (1.00, 0.0432649, 0.0042978, 0.0432649, 0.0042978, 1.0000000, 0.0000000),
]
# Half a unit in the 7th decimal. The SEs also differ from convey's in the 7th significant
# digit: convey keeps the 4 rows with missing hours in the design with zero weight, so its
# factor n/(n-1) uses n = 2246, not 2242 (relative difference 4e-7); Stata drops them.
SEVENTH_DECIMAL = 5e-8


def assert_row(result: object, row: tuple[float, ...]) -> None:
    _, m0, se_m0, h, se_h, a, se_a = row
    got = (result.M0, result.se["M0"], result.H, result.se["H"], result.A, result.se["A"])
    assert got == pytest.approx((m0, se_m0, h, se_h, a, se_a), abs=SEVENTH_DECIMAL)


@pytest.mark.parametrize("row", EQUAL_WEIGHTS_TABLE, ids=lambda row: f"k={row[0]}")
def test_nlsw88_with_equal_weights_matches_the_published_estimates_and_ses(
    nlsw88: pa.Table, row: tuple[float, ...]
) -> None:
    result = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=row[0],
                            cutoffs=NLSW88_CUTOFFS)
    assert (result.n, result.dropped, result.df) == (2242, 4, 2241)
    assert_row(result, row)


@pytest.mark.parametrize("row", UNEQUAL_WEIGHTS_TABLE, ids=lambda row: f"k={row[0]}")
def test_nlsw88_with_wage_weighted_half_matches_the_published_estimates_and_ses(
    nlsw88: pa.Table, row: tuple[float, ...]
) -> None:
    result = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=row[0],
                            cutoffs=NLSW88_CUTOFFS,
                            weights={"wage": 0.5, "collgrad": 0.25, "hours": 0.25})
    assert_row(result, row)


def test_nlsw88_at_k_one_third_counts_a_score_of_exactly_one_third_as_poor(
    nlsw88: pa.Table,
) -> None:
    """k = 100/3/100 is 0.33333333333333337 > 1/3; the tolerance keeps one deprivation poor."""
    exact = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=1 / 3, cutoffs=NLSW88_CUTOFFS)
    stata = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=100 / 3 / 100,
                           cutoffs=NLSW88_CUTOFFS)
    assert exact.H == stata.H == pytest.approx(0.8082070, abs=SEVENTH_DECIMAL)


def test_nlsw88_decomposition_by_indicator_matches_the_published_one(nlsw88: pa.Table) -> None:
    """The same source, "Replicate k=1/3 rows of PDF page 17 and 19" (svyafcdec, 5 decimals)."""
    result = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=1 / 3,
                            cutoffs=NLSW88_CUTOFFS)
    published_heads = {"wage": 0.19492, "collgrad": 0.76316, "hours": 0.15165}
    assert result.uncensored_headcounts == pytest.approx(published_heads, abs=5e-6)
    assert result.censored_headcounts == pytest.approx(published_heads, abs=5e-6)
    assert result.contributions == pytest.approx(
        {"wage": 0.17564, "collgrad": 0.68770, "hours": 0.13666}, abs=5e-6)


def test_nlsw88_decomposition_by_marital_status_matches_the_published_one(
    nlsw88: pa.Table,
) -> None:
    """The same source, "Replicate PDF pages 21 and 22": subgroup M0 (5 decimals), its SE
    (2 significant digits) and each group's contribution (5 decimals) by ``married``."""
    result = mpi_from_table(nlsw88, indicators=NLSW88_INDICATORS, k=1 / 3,
                            cutoffs=NLSW88_CUTOFFS, by="married")
    assert result.groups is not None
    single, married = result.groups["0"], result.groups["1"]
    assert (single.M0, married.M0) == pytest.approx((0.35414, 0.37867), abs=5e-6)
    assert (single.se["M0"], married.se["M0"]) == pytest.approx((0.0088, 0.0066), abs=5e-5)
    assert (single.contribution, married.contribution) == pytest.approx((0.34204, 0.65796),
                                                                        abs=5e-6)
    assert single.n + married.n == 2242
