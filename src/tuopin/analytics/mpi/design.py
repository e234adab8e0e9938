"""Survey design and Taylor-linearised variances of ratios, for the whole sample and domains.

The first stage is treated as sampled with replacement (Stata ``svy``, R ``survey``): the
variance of an estimator is V = sum_h n_h/(n_h - 1) * sum_c (t_hc - mean_h t)^2 over PSU totals
t_hc of its linearised values. PSU ids are nested in strata: PSU "1" of stratum A and PSU "1" of
stratum B are two PSUs. Without a PSU column every unit is its own PSU; without strata there is
one stratum. Domains (subgroups) are estimated on the full design, never on a subset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuopin.domain.errors import ValidationFailed

# Above this many stratum-by-group cells only the cells that occur are summed, not a dense table.
_DENSE_CELLS = 1 << 24


@dataclass(frozen=True)
class Coded:
    """A categorical column as compact integer codes (0..len(labels)-1) and sorted labels."""

    codes: np.ndarray
    labels: list[str]


def code_values(values: object, what: str, n: int) -> Coded:
    """Codes and sorted labels of an array of category values (strata, PSU or group)."""
    if isinstance(values, Coded):
        codes = values.codes
        if len(codes) != n:
            raise ValidationFailed(f"{what} has {len(codes)} values for {n} units")
        if len(codes) and not 0 <= codes.min() <= codes.max() < len(values.labels):
            raise ValidationFailed(f"{what} has codes outside its {len(values.labels)} labels")
        return values
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n:
        raise ValidationFailed(f"{what} must be one value per unit ({n}), got shape {array.shape}")
    if array.dtype.kind in "iu":
        return _code_integers(array.astype(np.int64))
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValidationFailed(f"{what} has missing values")
    try:
        labels, codes = np.unique(array, return_inverse=True)
    except TypeError as error:
        raise ValidationFailed(f"{what} has missing or mixed-type values") from error
    return Coded(codes.reshape(-1).astype(np.intp), [str(v) for v in labels.tolist()])


def _code_integers(array: np.ndarray) -> Coded:
    codes, distinct = compact(array)
    return Coded(codes, [str(v) for v in distinct.tolist()])


def compact(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compact codes (0..m-1) of integer keys, and the m sorted distinct keys."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low > 2 * len(keys) + 1024:
        distinct, codes = np.unique(keys, return_inverse=True)
        return codes.reshape(-1).astype(np.intp), distinct
    # A counting sort is O(n): survey PSU and stratum ids are usually small dense integers.
    present = np.bincount(keys - low) > 0
    rank = np.cumsum(present) - 1
    return rank[keys - low].astype(np.intp), np.flatnonzero(present) + low


@dataclass(frozen=True)
class Design:
    """Units in PSUs in strata; ``unit_psu`` is None when every unit is its own PSU."""

    n_units: int
    unit_psu: np.ndarray | None
    psu_stratum: np.ndarray
    psu_per_stratum: np.ndarray

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


def build_design(n: int, strata: Coded | None, psu: Coded | None) -> Design:
    """The design of ``n`` units; a stratum with fewer than two PSUs is refused."""
    unit_stratum = strata.codes if strata is not None else np.zeros(n, dtype=np.intp)
    n_strata = len(strata.labels) if strata is not None else 1
    if psu is None:
        unit_psu, psu_stratum = None, unit_stratum
    else:
        key = unit_stratum.astype(np.int64) * max(len(psu.labels), 1) + psu.codes
        unit_psu, cells = compact(key)
        psu_stratum = cells // max(len(psu.labels), 1)
    per_stratum = np.bincount(psu_stratum, minlength=n_strata)
    lonely = np.flatnonzero(per_stratum < 2)
    if len(lonely):
        raise ValidationFailed(_lonely_message(lonely, strata, psu is None))
    return Design(n, unit_psu, psu_stratum, per_stratum.astype(np.float64))


def _lonely_message(lonely: np.ndarray, strata: Coded | None, units: bool) -> str:
    what = "unit" if units else "PSU"
    if strata is None:
        return f"the sample has a single {what}; standard errors need at least two"
    names = ", ".join(repr(strata.labels[i]) for i in lonely[:5])
    which = f"stratum {names} has" if len(lonely) == 1 else f"strata {names} each have"
    return (f"{which} a single {what}; its variance cannot be estimated "
            f"(merge it with a neighbouring stratum)")


class DomainVariance:
    """Linearised variances of ratios within groups, on the full design (domain estimation)."""

    def __init__(self, design: Design, group: np.ndarray | None, n_groups: int) -> None:
        self.design, self.group, self.n_groups = design, group, n_groups
        if design.unit_psu is None:
            # Each unit is its own PSU, so a unit is its own PSU-by-group cell.
            self.unit_cell: np.ndarray | None = None
            cell_stratum = design.psu_stratum
            cell_group: np.ndarray | int = group if group is not None else 0
        else:
            g = group if group is not None else 0
            self.unit_cell, cells = compact(design.unit_psu.astype(np.int64) * n_groups + g)
            cell_stratum, cell_group = design.psu_stratum[cells // n_groups], cells % n_groups
        self.cell_key = cell_stratum.astype(np.int64) * n_groups + cell_group

    def ratio(self, numerator: np.ndarray, denominator: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Per group, R = sum(num)/sum(den) and its standard error (0 where sum(den) is 0)."""
        top, bottom = self._group_sums(numerator), self._group_sums(denominator)
        ratio = np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)
        inverse = np.divide(1.0, bottom, out=np.zeros_like(bottom), where=bottom > 0)
        if self.group is None:
            z = (numerator - ratio[0] * denominator) * inverse[0]
        else:
            z = (numerator - ratio[self.group] * denominator) * inverse[self.group]
        return ratio, np.sqrt(self._variance(z))

    def _group_sums(self, values: np.ndarray) -> np.ndarray:
        if self.group is None:
            return np.array([values.sum()], dtype=np.float64)
        return np.bincount(self.group, weights=values, minlength=self.n_groups)

    def _variance(self, z: np.ndarray) -> np.ndarray:
        totals = z if self.unit_cell is None else np.bincount(self.unit_cell, weights=z)
        n_strata, n_groups = self.design.n_strata, self.n_groups
        if n_strata * n_groups > _DENSE_CELLS:
            return self._sparse_variance(totals)
        size = n_strata * n_groups
        s1 = np.bincount(self.cell_key, weights=totals, minlength=size)
        s2 = np.bincount(self.cell_key, weights=totals * totals, minlength=size)
        n_h = self.design.psu_per_stratum[:, None]
        # sum_c (t - mean)^2 = sum t^2 - (sum t)^2 / n_h, counting PSUs outside the domain as 0.
        per_cell = n_h / (n_h - 1.0) * (s2.reshape(n_strata, n_groups)
                                         - s1.reshape(n_strata, n_groups) ** 2 / n_h)
        return np.maximum(per_cell.sum(axis=0), 0.0)

    def _sparse_variance(self, totals: np.ndarray) -> np.ndarray:
        # Too many stratum-by-group cells for a dense table: sum over the cells that occur.
        codes, keys = compact(self.cell_key)
        s1 = np.bincount(codes, weights=totals)
        s2 = np.bincount(codes, weights=totals * totals)
        n_h = self.design.psu_per_stratum[keys // self.n_groups]
        per_cell = n_h / (n_h - 1.0) * (s2 - s1**2 / n_h)
        variance = np.bincount(keys % self.n_groups, weights=per_cell, minlength=self.n_groups)
        return np.maximum(variance, 0.0)
