"""The data of the R reference cases for ``tuopin survey estimate``, made from a seed.

The tests make these frames themselves; ``python survey_data.py DIR`` writes them as CSV for
``survey_reference.R``. Values are rounded to two decimals, so the CSV holds them exactly.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np

Frame = dict[str, list[object]]
SEED = 20240612


def srs_frame() -> Frame:
    """A simple random sample of 25 units from a population of 500."""
    rng = np.random.default_rng(SEED)
    y = np.round(rng.normal(50.0, 10.0, 25), 2)
    return {"y": y.tolist(), "y01": (y > 52).astype(int).tolist(), "N": [500] * 25}


def stratified_frame() -> Frame:
    """Three strata of units (8, 12 and 6 of 80, 300 and 24), no clusters."""
    rng = np.random.default_rng(SEED + 1)
    sizes, populations, means = (8, 12, 6), (80, 300, 24), (30.0, 45.0, 60.0)
    frame: Frame = {"stratum": [], "y": [], "N": [], "f": []}
    for label, n, big_n, mean in zip("ABC", sizes, populations, means, strict=True):
        frame["stratum"] += [label] * n
        frame["y"] += np.round(rng.normal(mean, 8.0, n), 2).tolist()
        frame["N"] += [big_n] * n
        frame["f"] += [round(n / big_n, 6)] * n
    return frame


def cluster_frame(lonely: bool = False) -> Frame:
    """Villages (PSUs, numbered 1, 2, ... again in each stratum) in three strata.

    Weights are (N_h / n_h) * (households / sampled households); ``N`` counts the stratum's
    villages. ``dom`` has three levels, and some villages have no unit in some level.
    ``y_na`` and ``y01_na`` miss some values, all of village 2 in stratum "north" among them;
    ``dom_na`` misses some labels. With ``lonely`` a fourth stratum "zone" has one village.
    """
    rng = np.random.default_rng(SEED + 2)
    strata = [("east", 4, 40), ("north", 3, 12), ("west", 5, 25)]
    if lonely:
        strata.append(("zone", 1, 9))
    frame: Frame = {key: [] for key in ("stratum", "psu", "w", "N", "y", "y01", "dom",
                                        "y_na", "y01_na", "dom_na")}
    for label, n_psu, big_n in strata:
        for village in range(1, n_psu + 1):
            m = int(rng.integers(3, 8))
            households = m * int(rng.integers(2, 6))
            effect = rng.normal(0.0, 6.0)
            y = np.round(20.0 + effect + rng.gamma(2.0, 4.0, m), 2)
            y01 = (rng.random(m) < 0.25 + 0.02 * effect).astype(int)
            dom = rng.choice(["a", "b", "c"], size=m, p=[0.5, 0.3, 0.2])
            if village == 1:
                dom[:] = np.where(dom == "c", "a", dom)  # the first villages have no "c"
            gone = rng.random(m) < 0.15
            if (label, village) == ("north", 2):
                gone[:] = True
            frame["stratum"] += [label] * m
            frame["psu"] += [village] * m
            frame["w"] += [round(big_n / n_psu * households / m, 6)] * m
            frame["N"] += [big_n] * m
            frame["y"] += y.tolist()
            frame["y01"] += y01.tolist()
            frame["dom"] += dom.tolist()
            frame["y_na"] += [math.nan if g else v for g, v in zip(gone, y.tolist(), strict=True)]
            frame["y01_na"] += [math.nan if g else v
                                for g, v in zip(gone, y01.tolist(), strict=True)]
            frame["dom_na"] += [None if rng.random() < 0.1 else d for d in dom.tolist()]
    return frame


FRAMES = {
    "srs": srs_frame,
    "stratified": stratified_frame,
    "cluster": cluster_frame,
    "lonely": lambda: cluster_frame(lonely=True),
}


def write_csv(frame: Frame, path: Path) -> None:
    """The frame as CSV: an empty cell for a missing value, floats in their shortest form."""
    names = list(frame)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*(frame[name] for name in names), strict=True):
            writer.writerow(["" if _missing(v) else repr(v) if isinstance(v, float) else v
                             for v in row])


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, make in FRAMES.items():
        write_csv(make(), out / f"{name}.csv")
