"""Deprivation profiles: each unit's row of the deprivation matrix as one integer code.

Everything Alkire-Foster computes about a unit (its score, whether it is poor, its censored
row) depends only on its profile, and d indicators have at most 2^d profiles. So the units
are read once to code their profiles, and the weighted count of units per group and profile
is enough for every headcount: the per-indicator work is done on the small table of
profiles, never on the n units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tuopin.analytics.survey import compact

# A table of every possible profile is used up to this many group-by-profile cells (32 MB
# of float64 counts); beyond it only the profiles that occur are numbered.
_FULL_TABLE_CELLS = 1 << 22
# Codes are built in int64; more indicators than this are numbered by sorting the rows.
_MAX_BITS = 62


@dataclass(frozen=True)
class Profiles:
    """Units' profile codes (0..m-1) and the 0/1 row (m x d, bool) each code stands for."""

    codes: np.ndarray
    rows: np.ndarray

    @property
    def count(self) -> int:
        return len(self.rows)


def profiles_of_columns(columns: Sequence[np.ndarray], n_groups: int = 1) -> Profiles:
    """The profiles of n units from d columns of 0/1 flags (bool or integers 0 and 1)."""
    d = len(columns)
    if d > _MAX_BITS:
        return _by_sorting(np.column_stack([np.asarray(c, dtype=bool) for c in columns]))
    dtype = np.uint16 if d <= 16 else np.int64
    codes = np.zeros(len(columns[0]), dtype=dtype)
    for column in columns:
        # Horner's rule: the first indicator is the highest bit.
        np.left_shift(codes, 1, out=codes)
        np.add(codes, _as_small_ints(column), out=codes, casting="unsafe")
    if d <= 16 and (1 << d) * max(n_groups, 1) <= _FULL_TABLE_CELLS:
        return Profiles(codes, _rows_of(np.arange(1 << d, dtype=np.int64), d))
    codes_, distinct = compact(codes.astype(np.int64))
    return Profiles(codes_, _rows_of(distinct, d))


def profiles_of_matrix(matrix: np.ndarray, n_groups: int = 1) -> Profiles:
    """The profiles of the rows of an n x d boolean deprivation matrix."""
    if matrix.shape[1] > _MAX_BITS:
        return _by_sorting(matrix)
    return profiles_of_columns([matrix[:, j] for j in range(matrix.shape[1])], n_groups)


def _as_small_ints(column: np.ndarray) -> np.ndarray:
    # A bool or int8 0/1 column adds as its bytes; wider integers as themselves.
    if column.dtype == np.bool_ or column.dtype == np.int8:
        return column.view(np.uint8)
    return column


def _rows_of(codes: np.ndarray, d: int) -> np.ndarray:
    shifts = np.arange(d - 1, -1, -1, dtype=np.int64)
    return ((codes[:, None] >> shifts) & 1).astype(bool)


def _by_sorting(matrix: np.ndarray) -> Profiles:
    rows, codes = np.unique(matrix, axis=0, return_inverse=True)
    return Profiles(codes.reshape(-1).astype(np.intp), rows.astype(bool))
