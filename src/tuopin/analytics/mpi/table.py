"""Survey microdata to Alkire-Foster measures: read a file, pick columns, drop missing rows.

Indicators with a cutoff are deprived when ``value < cutoff``; indicators without one must
already be 0/1 (1 = deprived). A row with a missing value (null or NaN) in any column that is
used is dropped and counted; any other bad value is an error, never a silent drop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from tuopin.analytics.mpi.measures import (
    af_measures_of_columns,
    check_k,
    check_sample_weight,
    check_weights,
)
from tuopin.analytics.mpi.result import MpiResult
from tuopin.analytics.survey import Coded, build_design
from tuopin.analytics.survey.table import (
    as_arrow,
    coded_column,
    numeric,
    present,
    read_table,
    require_columns,
    to_numpy,
)
from tuopin.domain.errors import ValidationFailed

__all__ = ["deprivation_matrix", "mpi_from_file", "mpi_from_table", "read_table"]

def deprivation_matrix(
    table: pa.Table | object, indicators: Sequence[str], cutoffs: Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The n x d deprivation matrix of every row, and which rows have all indicators present.

    Rows with a missing indicator are kept in the matrix (as not deprived) so the caller can
    combine the mask with other columns' before dropping rows.
    """
    arrow = as_arrow(table)
    flags, kept = _deprivation_columns(arrow, indicators, cutoffs)
    matrix = np.zeros((arrow.num_rows, len(indicators)), dtype=bool, order="F")
    for j, column in enumerate(flags):
        matrix[:, j] = column
    return matrix, (np.ones(arrow.num_rows, dtype=bool) if kept is None else kept)


def _deprivation_columns(arrow: pa.Table, indicators: Sequence[str],
                         cutoffs: Mapping[str, float] | None
                         ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Each indicator's 0/1 flags (bool or int8), and which rows have all of them (None: all)."""
    cutoffs = dict(cutoffs or {})
    require_columns(arrow, indicators)
    stray = sorted(set(cutoffs) - set(indicators))
    if stray:
        raise ValidationFailed(f"cutoffs given for columns that are not indicators: "
                               f"{', '.join(stray)}")
    flags = [_deprived(arrow.column(name), name, cutoffs.get(name)) for name in indicators]
    return flags, _present_rows(arrow, indicators)


def _present_rows(arrow: pa.Table, names: Sequence[str]) -> np.ndarray | None:
    """Rows with a value (neither null nor NaN) in every column named; None when all do."""
    kept: np.ndarray | None = None
    for name in names:
        column = arrow.column(name)
        if column.null_count == 0 and not (pa.types.is_floating(column.type)
                                           and np.isnan(to_numpy(column)).any()):
            continue  # nothing is missing: no mask to build over the rows
        mask = present(column)
        kept = mask if kept is None else kept & mask
    return kept


def mpi_from_file(
    path: Path,
    *,
    indicators: Sequence[str],
    k: float,
    weights: Mapping[str, float] | None = None,
    cutoffs: Mapping[str, float] | None = None,
    sample_weight: str | None = None,
    by: str | None = None,
    strata: str | None = None,
    psu: str | None = None,
) -> MpiResult:
    """``mpi_from_table`` of a CSV, XLSX or Parquet file, reading only the columns in use."""
    # The arguments are refused before a large file is read, as they would be after.
    _weight_vector(weights, _indicator_list(indicators))
    check_k(k)
    design_columns = [name for name in (sample_weight, by, strata, psu) if name]
    # Text categories arrive dictionary-encoded: codes, not millions of strings.
    table = read_table(path, columns=list(dict.fromkeys([*indicators, *design_columns])),
                       categorical=[name for name in (by, strata, psu) if name])
    return mpi_from_table(table, indicators=indicators, k=k, weights=weights, cutoffs=cutoffs,
                          sample_weight=sample_weight, by=by, strata=strata, psu=psu)


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
    design_columns = [name for name in (sample_weight, by, strata, psu) if name]
    arrow = as_arrow(table)
    require_columns(arrow, [*indicators, *design_columns])
    # Only the columns in use are filtered: a survey file often has hundreds more.
    arrow = arrow.select(list(dict.fromkeys([*indicators, *design_columns])))
    flags, kept = _deprivation_columns(arrow, indicators, cutoffs)
    missing = _present_rows(arrow, design_columns)
    if missing is not None:
        kept = missing if kept is None else kept & missing
    dropped = 0
    if kept is not None:
        n_kept = int(np.count_nonzero(kept))
        if n_kept == 0:
            raise ValidationFailed(
                f"no rows left: each of the {arrow.num_rows} rows has a missing value in "
                f"{', '.join(dict.fromkeys([*indicators, *design_columns]))}")
        dropped = arrow.num_rows - n_kept
        if dropped:
            flags, arrow = [f[kept] for f in flags], arrow.filter(pa.array(kept))
    p = check_sample_weight(_sample_weights(arrow, sample_weight), arrow.num_rows)
    # The design is built here so that the PSU codes it is built from are freed as soon
    # as it has its own (80 MB at ten million rows).
    design = build_design(arrow.num_rows, _coded(arrow, strata), _coded(arrow, psu))
    result = af_measures_of_columns(
        flags, vector, k, indicator_names=indicators, sample_weight=p, design=design,
        by=_coded(arrow, by), dimensions=dimensions, vulnerable=vulnerable, severe=severe,
    )
    return dataclasses.replace(result, dropped=dropped)


def _deprived(column: pa.ChunkedArray, name: str, cutoff: float | None) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=bool)  # all missing: every row is dropped
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    kind = column.type
    is_number = numeric(kind)
    if cutoff is None and pa.types.is_integer(kind) and column.null_count == 0:
        fast = _binary_integers(column)
        if fast is not None:
            return fast
    # pyarrow.compute builds its wrappers when imported (60 ms): only where it is used.
    import pyarrow.compute as pc

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
    return np.asarray(to_numpy(pc.fill_null(flags, False)), dtype=bool)


def _binary_integers(column: pa.ChunkedArray) -> np.ndarray | None:
    """An integer column of only 0 and 1 as its values (no copy for int8); else None."""
    values = to_numpy(column)
    if len(values) and not (values.min() >= 0 and values.max() <= 1):
        return None  # the general path names the offending value
    return values if values.dtype == np.int8 else values.astype(np.int8)


def _refuse_non_binary(column: pa.ChunkedArray, name: str, binary: pa.ChunkedArray) -> None:
    import pyarrow.compute as pc

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
    weights = np.asarray(to_numpy(values), dtype=np.float64)
    if len(weights) and not (weights.min() >= 0 and np.isfinite(weights.max())):
        bad = ~np.isfinite(weights) | (weights < 0)
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
