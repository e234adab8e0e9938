"""The survey estimator against R's survey package 4.5, to a millionth; n and degf exactly.

The data come from ``r_reference/survey_data.py`` (seeded); ``r_reference/survey_reference.R``
ran R 4.2.2 with survey 4.5 on it and printed ``survey_reference.json``, which is pinned here
by its hash and, for each case's headline figures, by value. R is not needed to run this.
"""

from __future__ import annotations

import hashlib
import json
import math
import runpy
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from tuopin.analytics.survey import estimate
from tuopin.domain.errors import ValidationFailed

REFERENCE = Path(__file__).parent / "r_reference"
REFERENCE_SHA256 = "b50b1465e5312c244ed7f1b42655c986811722d70e0a445fbd4e8e44d61bb958"
FRAMES = runpy.run_path(str(REFERENCE / "survey_data.py"))["FRAMES"]
EXACT = {"n", "n_rows", "degf"}


class Case(NamedTuple):
    """A reference case: a frame, the variable, and the names of its design columns."""

    frame: str
    y: str
    strata: str | None = None
    psu: str | None = None
    weights: str | None = None
    fpc: str | None = None
    by: str | None = None
    proportion: bool = False
    lonely_psu: str = "fail"


CLUSTER = {"strata": "stratum", "psu": "psu", "weights": "w"}
# The calls of survey_reference.R, one for one.
CASES = {
    "srs": Case("srs", "y"),
    "srs_fpc": Case("srs", "y", fpc="N"),
    "srs_proportion": Case("srs", "y01", fpc="N", proportion=True),
    "stratified_fpc": Case("stratified", "y", strata="stratum", fpc="N"),
    "stratified_fraction": Case("stratified", "y", strata="stratum", fpc="f"),
    "cluster": Case("cluster", "y", **CLUSTER),
    "cluster_fpc": Case("cluster", "y", **CLUSTER, fpc="N"),
    "cluster_weights_from_fpc": Case("cluster", "y", strata="stratum", psu="psu", fpc="N"),
    "cluster_domains": Case("cluster", "y", **CLUSTER, by="dom"),
    "cluster_fpc_domains": Case("cluster", "y", **CLUSTER, fpc="N", by="dom"),
    "cluster_domain_proportion": Case("cluster", "y01", **CLUSTER, by="dom", proportion=True),
    "missing": Case("cluster", "y_na", **CLUSTER, by="dom_na"),
    "missing_proportion": Case("cluster", "y01_na", **CLUSTER, by="dom", proportion=True),
    "lonely_adjust": Case("lonely", "y", **CLUSTER, by="dom", lonely_psu="adjust"),
    "lonely_remove": Case("lonely", "y", **CLUSTER, by="dom", lonely_psu="remove"),
    "lonely_certainty": Case("lonely", "y", **CLUSTER, by="dom", lonely_psu="certainty"),
    "lonely_average": Case("lonely", "y", **CLUSTER, by="dom", lonely_psu="average"),
    "lonely_adjust_proportion": Case("lonely", "y01", **CLUSTER, fpc="N", by="dom",
                                     proportion=True, lonely_psu="adjust"),
}
# R's n, degf, mean (or proportion) and its SE, and the total's SE, as printed.
HEADLINES = {
    "srs": (25, 24, 51.9372, 1.88475590992574, 47.1188977481435),
    "srs_fpc": (25, 24, 51.9372, 1.83703282442095, 918.516412210473),
    "srs_proportion": (25, 24, 0.440000000456557, 0.0987589658377068, 49.3794829188534),
    "stratified_fpc": (26, 23, 45.2292574257426, 3.0896552362072, 1248.22071542771),
    "stratified_fraction": (26, 23, 45.2292574257426, 3.0896552362072, 1248.22071542771),
    "cluster": (62, 9, 27.8136144578313, 1.26182780311251, 4533.12551966815),
    "cluster_fpc": (62, 9, 27.8136144578313, 1.15637390663487, 4095.1890055039),
    "cluster_weights_from_fpc": (62, 9, 27.5597619047619, 0.810956717725411, 858.466136897665),
    "cluster_domains": (62, 9, 27.8136144578313, 1.26182780311251, 4533.12551966815),
    "cluster_fpc_domains": (62, 9, 27.8136144578313, 1.15637390663487, 4095.1890055039),
    "cluster_domain_proportion": (62, 9, 0.225903614458054, 0.077955232809023,
                                  118.039541397505),
    "missing": (48, 9, 26.6155243445693, 1.18302737112141, 4016.81941645377),
    "missing_proportion": (48, 9, 0.131086142322136, 0.0555231202095669, 64.2910050732864),
    "lonely_adjust": (69, 9, 27.4666315095583, 1.14104430041866, 4782.84757914831),
    "lonely_remove": (69, 9, 27.4666315095583, 1.09987098732579, 4533.12551966815),
    "lonely_certainty": (69, 9, 27.4666315095583, 1.09987098732579, 4533.12551966815),
    "lonely_average": (69, 9, 27.4666315095583, 1.27002162121281, 5234.40247810154),
    "lonely_adjust_proportion": (69, 9, 0.215557020435204, 0.0612149255034957,
                                 103.937623533535),
}


@cache
def reference() -> dict[str, Any]:
    return json.loads((REFERENCE / "survey_reference.json").read_text(encoding="utf-8"))


@cache
def frame(name: str) -> dict[str, list[object]]:
    return FRAMES[name]()


def column(frame_name: str, name: str | None, *, numbers: bool = False) -> np.ndarray | None:
    if name is None:
        return None
    values = frame(frame_name)[name]
    if numbers:
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(values, dtype=object)


def run(case: Case, **changes: Any) -> dict[str, Any]:
    case = case._replace(**changes)
    f = case.frame
    return estimate(
        column(f, case.y, numbers=True), strata=column(f, case.strata),
        psu=column(f, case.psu), weights=column(f, case.weights, numbers=True),
        fpc=column(f, case.fpc, numbers=True), by=column(f, case.by),
        proportion=case.proportion, lonely_psu=case.lonely_psu,
    ).to_dict()


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where ``ours`` is not R's: keys, nulls and levels exactly, n and degf exactly,
    every other number to 1e-6 relative."""
    if isinstance(theirs, dict):
        if not isinstance(ours, dict) or set(ours) != set(theirs):
            return [f"{path}: keys {sorted(ours) if isinstance(ours, dict) else ours} "
                    f"!= {sorted(theirs)}"]
        return [d for key in theirs for d in differences(ours[key], theirs[key],
                                                        f"{path}.{key}")]
    if isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            return [f"{path}: {ours} != {theirs}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    if theirs is None or ours is None or isinstance(theirs, str):
        return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]
    if path.rsplit(".", 1)[-1] in EXACT:
        return [] if ours == theirs and isinstance(ours, int) else [f"{path}: {ours} != {theirs}"]
    if ours != pytest.approx(theirs, rel=1e-6, abs=1e-12):
        return [f"{path}: {ours!r} != {theirs!r} (R)"]
    return []


def test_the_reference_is_what_r_printed_with_survey_4_5() -> None:
    data = (REFERENCE / "survey_reference.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == REFERENCE_SHA256
    assert reference()["survey"] == "4.5"
    assert set(reference()["cases"]) == set(CASES) == set(HEADLINES)


@pytest.mark.parametrize("name", CASES)
def test_every_figure_matches_r_to_a_millionth_and_n_and_degf_exactly(name: str) -> None:
    assert differences(run(CASES[name]), reference()["cases"][name], name) == []


@pytest.mark.parametrize("name", HEADLINES)
def test_the_headline_figures_are_r_s(name: str) -> None:
    n, degf, centre, se, total_se = HEADLINES[name]
    result = run(CASES[name])
    first = result["proportion" if CASES[name].proportion else "mean"]
    assert (result["n"], result["degf"]) == (n, degf)
    assert (first["estimate"], first["se"], result["total"]["se"]) == pytest.approx(
        (centre, se, total_se), rel=1e-6)


def test_a_lonely_psu_stops_with_an_error_naming_its_stratum_as_r_does() -> None:
    assert "(zone)" in reference()["lonely_fail_error"]
    with pytest.raises(ValidationFailed, match="stratum 'zone' has a single PSU"):
        run(CASES["lonely_adjust"], lonely_psu="fail")


def test_a_domain_keeps_the_whole_design_where_subsetting_first_changes_the_se() -> None:
    domain = run(CASES["cluster_domains"])["domains"][2]  # "c": absent from every village 1
    rows = column("cluster", "dom") == "c"
    alone = estimate(column("cluster", "y", numbers=True)[rows],
                     strata=column("cluster", "stratum")[rows],
                     psu=column("cluster", "psu")[rows],
                     weights=column("cluster", "w", numbers=True)[rows]).to_dict()
    assert domain["mean"]["estimate"] == pytest.approx(alone["mean"]["estimate"])
    assert domain["mean"]["se"] != pytest.approx(alone["mean"]["se"], rel=1e-3)
    assert domain["total"]["se"] != pytest.approx(alone["total"]["se"], rel=1e-3)


def test_a_missing_y_leaves_its_village_in_the_design() -> None:
    """Village 2 of "north" has no y at all: it is a PSU with total 0, and counts in degf."""
    result = run(CASES["missing"])
    kept = ~np.isnan(column("cluster", "y_na", numbers=True))
    dropped = estimate(column("cluster", "y_na", numbers=True)[kept],
                       strata=column("cluster", "stratum")[kept],
                       psu=column("cluster", "psu")[kept],
                       weights=column("cluster", "w", numbers=True)[kept]).to_dict()
    assert (result["degf"], dropped["degf"]) == (9, 8)
    assert result["mean"]["se"] != pytest.approx(dropped["mean"]["se"], rel=1e-3)


def test_psu_numbers_repeat_in_each_stratum_and_name_different_psus() -> None:
    strata = column("cluster", "stratum")
    unique_ids = np.array([f"{s}-{p}" for s, p in zip(strata, column("cluster", "psu"),
                                                       strict=True)], dtype=object)
    ours = run(CASES["cluster_domains"])
    assert run(CASES["cluster_domains"], psu="psu", strata="stratum") == ours
    renamed = estimate(column("cluster", "y", numbers=True), strata=strata, psu=unique_ids,
                       weights=column("cluster", "w", numbers=True),
                       by=column("cluster", "dom")).to_dict()
    assert differences(renamed, ours) == []


def test_a_weight_column_gives_the_weights_and_the_fpc_only_corrects_the_variance() -> None:
    with_fpc, without = run(CASES["cluster_fpc"]), run(CASES["cluster"])
    from_fpc = run(CASES["cluster_weights_from_fpc"])
    assert with_fpc["mean"]["estimate"] == without["mean"]["estimate"]
    assert with_fpc["mean"]["se"] < without["mean"]["se"]
    villages = {"east": 4, "north": 3, "west": 5}
    weights = [n_h / villages[s] for s, n_h in zip(column("cluster", "stratum"),
                                                   column("cluster", "N"), strict=True)]
    assert from_fpc["sum_weights"] == pytest.approx(sum(weights))  # N_h/n_h for each unit
