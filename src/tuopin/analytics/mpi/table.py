"""Survey microdata to Alkire-Foster measures: read a file, pick columns, drop missing rows.

Indicators with a cutoff are deprived when ``value < cutoff``; indicators without one must
already be 0/1 (1 = deprived). A row with a missing value (null or NaN) in any column that is
used is dropped and counted; any other bad value is an error, never a silent drop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.analytics.mpi.measures import af_measures, check_k, check_weights
from tuopin.analytics.mpi.result import MpiResult
from tuopin.analytics.survey import Coded
from tuopin.analytics.survey.table import (
    as_arrow,
    coded_column,
    numeric,
    present,
    read_table,
    require_columns,
)
from tuopin.domain.errors import ValidationFailed

__all__ = ["deprivation_matrix", "mpi_from_table", "read_table"]

def deprivation_matrix(
    table: pa.Table | object, indicators: Sequence[str], cutoffs: Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The n x d deprivation matrix of every row, and which rows have all indicators present.

    Rows with a missing indicator are kept in the matrix (as not deprived) so the caller can
    combine the mask with other columns' before dropping rows.
    """
    arrow = as_arrow(table)
    cutoffs = dict(cutoffs or {})
    require_columns(arrow, indicators)
    stray = sorted(set(cutoffs) - set(indicators))
    if stray:
        raise ValidationFailed(f"cutoffs given for columns that are not indicators: "
                               f"{', '.join(stray)}")
    matrix = np.zeros((arrow.num_rows, len(indicators)), dtype=bool, order="F")
    kept = np.ones(arrow.num_rows, dtype=bool)
    for j, name in enumerate(indicators):
        column = arrow.column(name)
        kept &= present(column)
        matrix[:, j] = _deprived(column, name, cutoffs.get(name))
    return matrix, kept


def mpi_from_table(
    table: pa.Table | object,
    *,
    indicators: Sequence[str],
    k: float,
    weights: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, float] | None = None,
    sample_weight: str | None = None,
    by: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    vulnerable: tuple[float, float | None] = (0.2, None),
    severe: float = 0.5,
) -> MpiResult:
    """Alkire-Foster measures of a table's rows; rows with a missing value are dropped."""
    indicators = _indicator_list(indicators)
    vector = _weight_vector(weights, indicators)
    check_k(k)
    design = [name for name in (sample_weight, by, strata, psu) if name]
    arrow = as_arrow(table)
    require_columns(arrow, [*indicators, *design])
    # Only the columns in use are filtered: a survey file often has hundreds more.
    arrow = arrow.select(list(dict.fromkeys([*indicators, *design])))
    matrix, kept = deprivation_matrix(arrow, indicators, cutoffs)
    for name in design:
        kept &= present(arrow.column(name))
    n_kept = int(np.count_nonzero(kept))
    if n_kept == 0:
        raise ValidationFailed(f"no rows left: each of the {arrow.num_rows} rows has a missing "
                               f"value in {', '.join(dict.fromkeys([*indicators, *design]))}")
    dropped = arrow.num_rows - n_kept
    if dropped:
        matrix, arrow = matrix[kept], arrow.filter(pa.array(kept))
    result = af_measures(
        matrix, vector, k, indicator_names=indicators,
        sample_weight=_sample_weights(arrow, sample_weight),
        strata=_coded(arrow, strata), psu=_coded(arrow, psu),
        by=_coded(arrow, by), dimensions=dimensions, vulnerable=vulnerable,
        severe=severe,
    )
    return dataclasses.replace(result, dropped=dropped)


def _deprived(column: pa.ChunkedArray, name: str, cutoff: float | None) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=bool)  # all missing: every row is dropped
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    kind = column.type
    is_number = numeric(kind)
    if cutoff is not None:
        if not is_number:
            raise ValidationFailed(f"indicator {name!r} has a cutoff, so it must be numeric; "
                                   f"its type is {kind}")
        flags = pc.less(column, pa.scalar(float(cutoff)))
    elif pa.types.is_boolean(kind):
        flags = column
    elif is_number or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        zero, one = (pa.scalar(0, kind), pa.scalar(1, kind)) if is_number else ("0", "1")
        _refuse_non_binary(column, name, pc.or_(pc.equal(column, zero), pc.equal(column, one)))
        flags = pc.equal(column, one)
    else:
        raise ValidationFailed(f"indicator {name!r} has no cutoff, so its values must be 0 or 1; "
                               f"its type is {kind}")
    return np.asarray(pc.fill_null(flags, False).to_numpy(zero_copy_only=False), dtype=bool)


def _refuse_non_binary(column: pa.ChunkedArray, name: str, binary: pa.ChunkedArray) -> None:
    bad = pc.and_(pc.invert(pc.fill_null(binary, True)), pa.array(present(column)))
    if pc.any(bad).as_py():
        value = column.filter(bad)[0].as_py()
        raise ValidationFailed(f"indicator {name!r} has no cutoff, so its values must be 0 or 1 "
                               f"(1 = deprived); found {value!r}")


def _sample_weights(arrow: pa.Table, column: str | None) -> np.ndarray | None:
    if column is None:
        return None
    values = arrow.column(column)
    if not numeric(values.type):
        raise ValidationFailed(f"sample weight column {column!r} must be numeric; "
                               f"its type is {values.type}")
    weights = np.asarray(values.to_numpy(), dtype=np.float64)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        raise ValidationFailed(f"sample weight column {column!r} must be finite and "
                               f"non-negative; found {float(weights[bad][0])!r}")
    return weights


def _coded(arrow: pa.Table, column: str | None) -> Coded | None:
    return None if column is None else coded_column(arrow, column)


def _indicator_list(indicators: Sequence[str]) -> list[str]:
    listed = list(indicators)
    if not listed:
        raise ValidationFailed("at least one indicator is needed")
    repeated = sorted({name for name in listed if listed.count(name) > 1})
    if repeated:
        raise ValidationFailed(f"indicators are listed twice: {', '.join(repeated)}")
    return listed


def _weight_vector(weights: Mapping[str, float] | None, indicators: list[str]) -> np.ndarray:
    if weights is None:
        return np.full(len(indicators), 1.0 / len(indicators))
    stray = sorted(set(weights) - set(indicators))
    missing = [name for name in indicators if name not in weights]
    if stray or missing:
        raise ValidationFailed(
            "weights must name every indicator once"
            + (f"; not indicators: {', '.join(stray)}" if stray else "")
            + (f"; no weight for: {', '.join(missing)}" if missing else "")
        )
    return check_weights([float(weights[name]) for name in indicators], indicators)
