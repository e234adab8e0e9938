"""Taylor-linearised variances of totals within domains, on the full design.

The first stage is treated as sampled with replacement, corrected by the sampling fraction
when an fpc is given (R ``survey``, Stata ``svy``): a total's variance is
V = sum_h (1 - f_h) n_h/(n_h - 1) sum_c (t_hc - mean_h t)^2 over the PSU totals t_hc of its
linearised values. A domain keeps the whole design: a PSU with no unit in the domain is a PSU
whose total is 0, never a PSU fewer. Strata a domain does not touch add nothing; they matter
only to the lonely-PSU rules, which (like R's svyby on a subset design) see the strata with
units in the domain. Everything is vectorised: totals come from ``np.bincount`` over
stratum-by-domain cells that occur, so a domain costs nothing per unit.
"""

from __future__ import annotations

import numpy as np

from tuopin.analytics.survey.design import Design, LonelyPsu, compact

# R's compiled variance (used whenever an fpc is given) sets variances below this to 0.
_R_ZERO = 1e-16


class DomainVariance:
    """Linearised variances within groups (domains) of the units, on the full design.

    ``group`` gives each unit's domain, 0..n_groups-1, or -1 for a unit in none (a missing
    value, or a unit outside every domain): such units add nothing, and only units in a
    domain decide which strata are present in it. None puts every unit in one group.
    """

    def __init__(self, design: Design, group: np.ndarray | None, n_groups: int) -> None:
        self.design, self.group, self.n_groups = design, group, n_groups
        self.rows: np.ndarray | None = None
        if group is not None and (group < 0).any():
            self.rows = np.flatnonzero(group >= 0)
        member = self._select(group) if group is not None else None
        self.cell_psu: np.ndarray | None = None
        if design.unit_psu is None:
            # Each unit is its own PSU, so a unit is its own PSU-by-group cell.
            self.unit_cell: np.ndarray | None = None
            cell_stratum = self._select(design.unit_stratum)
            cell_group = member if member is not None else np.zeros(len(cell_stratum), np.intp)
        elif member is None:
            # One group of every unit: the cells are the design's PSUs, already compact codes.
            self.unit_cell, self.cell_psu = design.unit_psu, np.arange(design.n_psu)
            cell_stratum, cell_group = design.psu_stratum, np.zeros(design.n_psu, np.intp)
        else:
            key = self._select(design.unit_psu).astype(np.int64)  # in place: one array of n
            key *= n_groups
            key += member
            self.unit_cell, cells = compact(key)
            self.cell_psu = cells // n_groups
            if self.rows is None and len(cells) == design.n_psu:
                # Each PSU lies in one group (a region, say): its cell codes are its PSU
                # codes, so the copy is let go (80 MB at ten million units).
                self.unit_cell = design.unit_psu
            cell_stratum, cell_group = design.psu_stratum[self.cell_psu], cells % n_groups
        # A stratum has units here exactly when it has a cell here.
        design.refuse_lonely(cell_stratum)
        self.cell_combo, combos = compact(cell_stratum.astype(np.int64) * n_groups + cell_group)
        self._describe_combos(combos)

    def _select(self, values: np.ndarray) -> np.ndarray:
        return values if self.rows is None else values[self.rows]

    def _describe_combos(self, combos: np.ndarray) -> None:
        """Per stratum-by-group cell that occurs: its PSUs, scale and lonely-PSU role."""
        design, n_groups = self.design, self.n_groups
        stratum = (combos // n_groups).astype(np.intp)
        self.combo_group = (combos % n_groups).astype(np.intp)
        self.n_combos = len(combos)
        self.observed = np.bincount(self.cell_combo, minlength=self.n_combos)
        self.n_h = design.psu_per_stratum[stratum]
        f = design.fraction[stratum] if design.fraction is not None else 0.0
        lonely = design.lonely[stratum]
        # One PSU that is no lonely one was taken with certainty (f = 1): it adds nothing.
        several = (self.n_h > 1) & ~lonely
        self.scale = np.where(several, (1.0 - f) * self.n_h / np.maximum(self.n_h - 1.0, 1.0),
                              0.0)
        rule = design.lonely_psu
        self.adjust = (1.0 - f) * lonely if rule is LonelyPsu.ADJUST and lonely.any() else None
        self.group_psus = np.bincount(self.combo_group, weights=self.n_h, minlength=n_groups)
        self.average: np.ndarray | None = None
        if rule is LonelyPsu.AVERAGE and lonely.any():
            strata = np.bincount(self.combo_group, minlength=n_groups).astype(np.float64)
            alone = np.bincount(self.combo_group, weights=lonely, minlength=n_groups)
            # A lonely stratum counts as the average of the others; none left: undefined.
            with np.errstate(divide="ignore", invalid="ignore"):
                self.average = np.where(alone > 0, strata / (strata - alone), 1.0)
            self.average[(alone > 0) & (strata == alone)] = np.nan

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per group, the sum of ``values`` over its units."""
        if self.group is None:
            return np.array([values.sum()], dtype=np.float64)
        return np.bincount(self._select(self.group), weights=self._select(values),
                           minlength=self.n_groups)

    def variance(self, z: np.ndarray) -> np.ndarray:
        """Per group, the variance of the total of the linearised values ``z``."""
        return self.variance_of_totals(self.cell_totals(z))

    def cell_totals(self, values: np.ndarray) -> np.ndarray:
        """The totals of per-unit ``values`` in each PSU-by-group cell that occurs."""
        selected = self._select(values)
        if self.unit_cell is None:
            return np.asarray(selected, dtype=np.float64)
        return np.bincount(self.unit_cell, weights=selected, minlength=len(self.cell_combo))

    @property
    def n_cells(self) -> int:
        return len(self.cell_combo)

    def cell_totals_by(self, values: np.ndarray, level: np.ndarray, n_levels: int
                       ) -> np.ndarray:
        """The totals of ``values`` in each cell and level (``level``: each unit's, from 0 to
        n_levels - 1), as a cells x levels table: several totals in one pass."""
        key = (np.arange(self.n_cells, dtype=np.int64) if self.unit_cell is None
               else self.unit_cell.astype(np.int64))
        key *= n_levels
        key += self._select(level)
        return np.bincount(key, weights=self._select(values),
                           minlength=self.n_cells * n_levels).reshape(self.n_cells, n_levels)

    def psu_totals(self, totals: np.ndarray) -> np.ndarray:
        """Cell totals of groups that cover every unit, summed to the design's PSUs: the
        cell totals of ``DomainVariance(design, None, 1)``."""
        if self.rows is not None:
            raise ValueError("some units are in no group, so the groups do not cover the PSUs")
        if self.cell_psu is None:
            return totals  # every unit its own PSU: the cells are the units, in order
        return np.bincount(self.cell_psu, weights=totals, minlength=self.design.n_psu)

    def variance_of_totals(self, totals: np.ndarray) -> np.ndarray:
        """Per group, the variance of a total, given the linearised values' cell totals."""
        s1 = np.bincount(self.cell_combo, weights=totals, minlength=self.n_combos)
        mean = s1 / self.n_h
        deviation = totals - mean[self.cell_combo]
        # PSUs of the stratum with no unit here are PSUs whose total is 0.
        squares = (np.bincount(self.cell_combo, weights=deviation * deviation,
                               minlength=self.n_combos)
                   + (self.n_h - self.observed) * mean * mean)
        per_combo = self.scale * squares
        if self.adjust is not None:
            # survey >= 4.4: a lonely PSU is centred at the mean of every PSU total present.
            centre = np.divide(np.bincount(self.combo_group, weights=s1, minlength=self.n_groups),
                               self.group_psus, out=np.zeros(self.n_groups),
                               where=self.group_psus > 0)
            per_combo = per_combo + self.adjust * (s1 - centre[self.combo_group]) ** 2
        variance = np.bincount(self.combo_group, weights=per_combo, minlength=self.n_groups)
        if self.average is not None:
            variance = variance * self.average
        if self.design.fraction is not None:
            variance[np.abs(variance) < _R_ZERO] = 0.0
        return variance

    def ratio(self, numerator: np.ndarray, denominator: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Per group, R = sum(num)/sum(den) and its standard error (0 where sum(den) is 0)."""
        top, bottom = self.sums(numerator), self.sums(denominator)
        ratio = np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)
        inverse = np.divide(1.0, bottom, out=np.zeros_like(bottom), where=bottom > 0)
        if self.group is None:
            z = (numerator - ratio[0] * denominator) * inverse[0]
        else:
            g = np.maximum(self.group, 0)
            z = (numerator - ratio[g] * denominator) * inverse[g]
        return ratio, np.sqrt(np.maximum(self.variance(z), 0.0))

    def ratio_of_totals(self, numerator: np.ndarray, denominator: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        """``ratio`` from the cell totals of numerator and denominator: the linearised
        values are linear in them, so no pass over the units is needed."""
        cell_group = self.combo_group[self.cell_combo]
        top = np.bincount(cell_group, weights=numerator, minlength=self.n_groups)
        bottom = np.bincount(cell_group, weights=denominator, minlength=self.n_groups)
        ratio = np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)
        inverse = np.divide(1.0, bottom, out=np.zeros_like(bottom), where=bottom > 0)
        z = (numerator - ratio[cell_group] * denominator) * inverse[cell_group]
        return ratio, np.sqrt(np.maximum(self.variance_of_totals(z), 0.0))
