"""A sample design: units in PSUs nested in strata, finite population corrections, lonely PSUs.

It is R's ``svydesign(ids = ~psu, strata = ~strata, fpc = ~fpc, nest = TRUE)`` with one stage:
PSU ids are nested in strata (PSU "1" of stratum A and PSU "1" of stratum B are two PSUs);
without a PSU column every unit is its own PSU; without strata there is one stratum. An fpc
above 1 is the stratum's population count of PSUs, at most 1 its sampling fraction. A
stratum with one PSU is "lonely" unless the fpc says it was taken with certainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import N_


class LonelyPsu(StrEnum):
    """What to do with a stratum of one PSU (R's ``options(survey.lonely.psu = ...)``)."""

    FAIL = "fail"
    ADJUST = "adjust"
    REMOVE = "remove"
    CERTAINTY = "certainty"
    AVERAGE = "average"


@dataclass(frozen=True)
class Coded:
    """A categorical column as compact integer codes (0..len(labels)-1) and sorted labels.

    A code of -1 marks a missing value where one is allowed (domains).
    """

    codes: np.ndarray
    labels: list[str]


def code_values(values: object, what: str, n: int, *, missing: bool = False) -> Coded:
    """Codes and sorted labels of an array of category values (strata, PSU or domain).

    With ``missing`` a None or NaN is coded -1 (in no domain); otherwise it is an error.
    """
    if isinstance(values, Coded):
        return _checked(values, what, n, missing)
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n:
        raise ValidationFailed(f"{what} must be one value per unit ({n}), got shape {array.shape}")
    if array.dtype.kind in "iub":
        return _code_integers(array.astype(np.int64))
    absent = _absent(array)
    if absent.any() and not missing:
        raise RuleBroken(N_("{what} has missing values"), what=what)
    try:
        labels, codes = np.unique(array[~absent], return_inverse=True)
    except TypeError as error:
        raise RuleBroken(N_("{what} mixes numbers and text"), what=what) from error
    full = np.full(n, -1, dtype=np.intp)
    full[~absent] = codes.reshape(-1)
    return Coded(full, [label_text(v) for v in labels.tolist()])


def _checked(values: Coded, what: str, n: int, missing: bool) -> Coded:
    codes = values.codes
    if len(codes) != n:
        raise ValidationFailed(f"{what} has {len(codes)} values for {n} units")
    low = -1 if missing else 0
    if len(codes) and not low <= codes.min() <= codes.max() < len(values.labels):
        if codes.min() == -1:
            raise RuleBroken(N_("{what} has missing values"), what=what)
        raise ValidationFailed(f"{what} has codes outside its {len(values.labels)} labels")
    return values


def _absent(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        return np.isnan(array)
    if array.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in array],
                        dtype=bool)
    return np.zeros(len(array), dtype=bool)


def label_text(value: object) -> str:
    """A category value as its label: 3.0 read from a float column is "3", as R prints it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _code_integers(array: np.ndarray) -> Coded:
    codes, distinct = compact(array)
    return Coded(codes, [str(v) for v in distinct.tolist()])


def compact(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compact codes (0..m-1) of integer keys, and the m sorted distinct keys."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    if keys.dtype.kind not in "iu" or keys.dtype == np.uint64:
        keys = keys.astype(np.int64)  # np.bincount takes no uint64; small ints stay small
    low, high = int(keys.min()), int(keys.max())
    if high - low > 2 * len(keys) + 1024:
        distinct, codes = np.unique(keys, return_inverse=True)
        return codes.reshape(-1).astype(np.intp), distinct
    # A counting sort is O(n): survey PSU and stratum ids are usually small dense integers.
    # Keys are shifted to start at 0 only when they must be (a pass over them saved).
    base = low if low < 0 or low > len(keys) else 0
    shifted = keys.astype(np.int64) - base if base else keys
    present = np.bincount(shifted) > 0
    distinct = np.flatnonzero(present) + base
    if base == 0 and len(distinct) == high + 1:
        return keys.astype(np.intp), distinct  # already 0..m-1: no lookup needed
    rank = np.cumsum(present, dtype=np.intp) - 1
    return rank[shifted], distinct


@dataclass(frozen=True)
class Design:
    """Units in PSUs in strata; ``unit_psu`` is None when every unit is its own PSU.

    ``fraction`` is each stratum's sampling fraction n_h/N_h (None: sampled with
    replacement); ``lonely`` says which strata have a single PSU that was not a certainty.
    """

    n_units: int
    unit_stratum: np.ndarray
    unit_psu: np.ndarray | None
    psu_stratum: np.ndarray
    psu_per_stratum: np.ndarray
    fraction: np.ndarray | None
    lonely: np.ndarray
    lonely_psu: LonelyPsu
    strata_labels: list[str] | None

    @property
    def n_psu(self) -> int:
        return len(self.psu_stratum)

    @property
    def n_strata(self) -> int:
        return len(self.psu_per_stratum)

    @property
    def df(self) -> int:
        """Degrees of freedom: number of PSUs minus number of strata."""
        return self.n_psu - self.n_strata

    def degf(self, levels: np.ndarray, n_levels: int) -> np.ndarray:
        """R's degf() of the design subset to each level: its PSUs minus its strata.

        ``levels`` gives each unit's level (0..n_levels-1, -1 for none); a PSU or stratum
        counts in a level when one of its units is in it, whatever that unit's values.
        """
        rows = levels >= 0
        level = levels[rows].astype(np.int64)
        strata = compact(self.unit_stratum[rows] * n_levels + level)[1]
        if self.unit_psu is None:
            psus = np.bincount(level, minlength=n_levels)
        else:
            distinct = compact(self.unit_psu[rows] * n_levels + level)[1]
            psus = np.bincount(distinct % n_levels, minlength=n_levels)
        return psus - np.bincount(strata % n_levels, minlength=n_levels)

    def refuse_lonely(self, strata: np.ndarray) -> None:
        """Under ``fail``, stop on the lonely ones among ``strata`` (R's default)."""
        if self.lonely_psu is not LonelyPsu.FAIL:
            return
        lonely = np.flatnonzero(self.lonely & (np.bincount(strata, minlength=self.n_strata) > 0))
        if len(lonely):
            raise _lonely_error(lonely, self.strata_labels, self.unit_psu is None)


def build_design(n: int, strata: Coded | None, psu: Coded | None,
                 fpc: np.ndarray | None = None,
                 lonely_psu: LonelyPsu | str = LonelyPsu.FAIL) -> Design:
    """The design of ``n`` units; ``fpc`` is one value per unit, constant within a stratum."""
    lonely_psu = _lonely_rule(lonely_psu)
    unit_stratum = strata.codes if strata is not None else np.zeros(n, dtype=np.intp)
    n_strata = len(strata.labels) if strata is not None else 1
    if psu is None:
        unit_psu, psu_stratum = None, unit_stratum
    else:
        key = unit_stratum.astype(np.int64)  # built in place: one array of n, not three
        key *= max(len(psu.labels), 1)
        key += psu.codes
        unit_psu, cells = compact(key)
        psu_stratum = cells // max(len(psu.labels), 1)
    per_stratum = np.bincount(psu_stratum, minlength=n_strata).astype(np.float64)
    if len(psu_stratum) < 2 and strata is None:
        # R's svydesign refuses this whatever the lonely-PSU rule: nothing to compare with
        what = N_("the sample has a single unit; standard errors need at least two") \
            if psu is None else N_("the sample has a single PSU; standard errors need at "
                                   "least two")
        raise RuleBroken(what)
    fraction = None if fpc is None else _fractions(fpc, unit_stratum, per_stratum, strata)
    lonely = per_stratum < 2
    if fraction is not None:
        lonely &= fraction < 1.0  # one PSU of one: a certainty, not lonely
    # Lonely strata are refused (under "fail") when an estimate uses them, as R does.
    return Design(n, unit_stratum, unit_psu, psu_stratum, per_stratum, fraction, lonely,
                  lonely_psu, strata.labels if strata is not None else None)


def _lonely_rule(value: LonelyPsu | str) -> LonelyPsu:
    try:
        return LonelyPsu(value)
    except ValueError:
        raise RuleBroken(N_("the lonely-PSU rule must be one of {rules}; got {value}"),
                         rules=", ".join(rule.value for rule in LonelyPsu),
                         value=str(value)) from None


def _fractions(fpc: np.ndarray, unit_stratum: np.ndarray, per_stratum: np.ndarray,
               strata: Coded | None) -> np.ndarray:
    """Each stratum's sampling fraction n_h/N_h from the per-unit fpc column."""
    values = np.asarray(fpc, dtype=np.float64)
    if values.shape != unit_stratum.shape:
        raise ValidationFailed(f"fpc must be one value per unit, got shape {values.shape}")
    if not np.isfinite(values).all() or (values <= 0).any():
        raise RuleBroken(N_("the fpc must be a positive number in every row"))
    counts = bool((values > 1).any())
    if counts and (values < 1).any():
        raise RuleBroken(N_("the fpc mixes population counts (above 1) and sampling fractions "
                            "(below 1); use one or the other"))
    low = np.full(len(per_stratum), np.inf)
    high = np.full(len(per_stratum), -np.inf)
    np.minimum.at(low, unit_stratum, values)
    np.maximum.at(high, unit_stratum, values)
    varies = np.flatnonzero(low != high)
    if len(varies):
        raise RuleBroken(N_("the fpc differs within stratum {stratum}: it must be one value "
                            "per stratum"), stratum=_names(varies[:1], strata))
    population = high if counts else per_stratum / high
    # Sampling fractions are rounded in files (0.333333): allow rounding, not more PSUs.
    too_many = np.flatnonzero(population < per_stratum * (1 - 1e-9))
    if len(too_many):
        h = too_many[0]
        raise RuleBroken(N_("the fpc says stratum {stratum} has {population} PSUs, but "
                            "{sampled} were sampled"), stratum=_names(too_many[:1], strata),
                         population=f"{population[h]:g}", sampled=int(per_stratum[h]))
    return np.minimum(per_stratum / population, 1.0)


def _names(indices: np.ndarray, strata: Coded | None) -> str:
    labels = strata.labels if strata is not None else ["1"]
    return ", ".join(repr(labels[i]) for i in indices[:5])


def _lonely_error(lonely: np.ndarray, labels: list[str] | None, units: bool) -> RuleBroken:
    names = ", ".join(repr(labels[i]) for i in lonely[:5]) if labels else "'1'"
    if len(lonely) == 1:
        msgid = N_("stratum {strata} has a single unit; its variance cannot be estimated "
                   "(merge it with a neighbouring stratum, or choose a lonely-PSU rule)") \
            if units else N_("stratum {strata} has a single PSU; its variance cannot be "
                             "estimated (merge it with a neighbouring stratum, or choose a "
                             "lonely-PSU rule)")
    else:
        msgid = N_("strata {strata} each have a single unit; their variances cannot be "
                   "estimated (merge them with neighbouring strata, or choose a lonely-PSU "
                   "rule)") \
            if units else N_("strata {strata} each have a single PSU; their variances cannot "
                             "be estimated (merge them with neighbouring strata, or choose a "
                             "lonely-PSU rule)")
    return RuleBroken(msgid, strata=names)
