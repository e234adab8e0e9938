"""Survey microdata from a file: read CSV, XLSX or Parquet, pick columns, estimate.

Columns keep their types (numbers stay numbers, so a domain's levels sort as numbers); an
XLSX sheet arrives as text through tuopin's safe workbook reader and each column becomes
integers, floats or text, whichever holds all of its cells.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tuopin.analytics.survey.design import Coded, LonelyPsu, compact, label_text
from tuopin.analytics.survey.estimate import estimate
from tuopin.analytics.survey.result import SurveyEstimate
from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import N_

SNIFF_BYTES = 1 << 20
PARQUET_SUFFIXES = (".parquet", ".pq")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


def read_table(path: Path, *, columns: Sequence[str] | None = None,
               categorical: Sequence[str] = ()) -> pa.Table:
    """A CSV (UTF-8 or GB18030), XLSX or Parquet file as an Arrow table with inferred types.

    With ``columns``, only those are read (an unknown one is refused, naming the file's);
    text columns named in ``categorical`` arrive dictionary-encoded from Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise RuleBroken(N_("no such file: {path}"), path=str(path))
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        table = _read_xlsx(path)
        if columns is not None:
            require_columns(table, columns)
            table = table.select(list(columns))
        return table
    try:
        if suffix in PARQUET_SUFFIXES:
            return _read_parquet(path, columns, categorical)
        if suffix == ".csv":
            return _read_csv(path, columns)
    except (pa.ArrowException, OSError) as error:
        raise RuleBroken(N_("cannot read {name}: {error}"), name=path.name,
                         error=str(error)) from error
    raise RuleBroken(N_("cannot read {name}: use a .csv, .xlsx or .parquet file"),
                     name=path.name)


def _read_parquet(path: Path, columns: Sequence[str] | None,
                  categorical: Sequence[str]) -> pa.Table:
    schema = pq.read_schema(path)
    if columns is None:
        return pq.read_table(path)
    _require_names(columns, schema.names)
    text = [name for name in categorical if name in columns
            and (pa.types.is_string(schema.field(name).type)
                 or pa.types.is_large_string(schema.field(name).type))]
    # ParquetFile reads without the dataset layer (whose import alone costs 0.25 s).
    return pq.ParquetFile(path, read_dictionary=text, memory_map=True).read(
        columns=list(columns), use_pandas_metadata=False)


def _read_csv(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    import pyarrow.csv as pacsv  # only for CSV files

    encoding = _sniff_encoding(path)
    # An empty cell is missing in a text column too (a domain label nobody filled in).
    convert = pacsv.ConvertOptions(strings_can_be_null=True)
    if columns is not None:
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=encoding),
                            convert_options=convert) as head:
            _require_names(columns, head.schema.names)
        convert = pacsv.ConvertOptions(strings_can_be_null=True, include_columns=list(columns))
    try:
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=encoding),
                              convert_options=convert)
    except pa.ArrowInvalid as error:
        if encoding != "utf-8" or "UTF8" not in str(error):
            raise
        # Invalid UTF-8 after the sniffed head: the file is GB18030 after all.
        return pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="gb18030"),
                              convert_options=convert)


def _sniff_encoding(path: Path) -> str:
    # Arrow does not check that header names are UTF-8, so GB18030 files from Chinese offices
    # are recognised by their first megabyte instead of by a read error.
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _read_xlsx(path: Path) -> pa.Table:
    from tuopin.io.readers import read_file

    raw = read_file(path)
    return pa.table([_typed(column) for column in raw.table.columns], names=raw.headers)


def _typed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text cells as integers, else floats, else text: the narrowest type that holds all."""
    import pyarrow.compute as pc  # 60 ms to import: only where it is used

    text = pc.utf8_trim_whitespace(column)
    for kind in (pa.int64(), pa.float64()):
        try:
            return pc.cast(text, kind)
        except pa.ArrowInvalid:
            continue
    return column


def estimate_table(
    table: pa.Table | object, *, y: str, strata: str | None = None, psu: str | None = None,
    weight: str | None = None, fpc: str | None = None, by: str | None = None,
    proportion: bool = False, lonely_psu: LonelyPsu | str = LonelyPsu.FAIL,
) -> SurveyEstimate:
    """``estimate`` on a table's columns: y may be missing, the design columns may not."""
    arrow = as_arrow(table)
    require_columns(arrow, [name for name in (y, strata, psu, weight, fpc, by) if name])
    return estimate(
        _numbers(arrow, y, missing=True),
        strata=None if strata is None else coded_column(arrow, strata),
        psu=None if psu is None else coded_column(arrow, psu),
        weights=None if weight is None else _numbers(arrow, weight),
        fpc=None if fpc is None else _numbers(arrow, fpc),
        by=None if by is None else coded_column(arrow, by, missing=True),
        proportion=proportion, lonely_psu=lonely_psu,
    )


def _numbers(arrow: pa.Table, name: str, *, missing: bool = False) -> np.ndarray:
    column = arrow.column(name)
    if pa.types.is_null(column.type):
        column = column.cast(pa.float64())
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    if not numeric(column.type):
        raise RuleBroken(N_("column {column} must hold numbers; its type is {type}"),
                         column=name, type=str(column.type))
    values = np.asarray(column.cast(pa.float64()).to_numpy(zero_copy_only=False),
                        dtype=np.float64)
    if not missing and np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise RuleBroken(N_("column {column} has no value in data row {row}"), column=name,
                         row=row + 1)
    return values


def to_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow values as NumPy, a view of the buffers where there are no nulls.

    pyarrow's own ``to_numpy`` imports pandas on its first call (0.2 s of start-up), so
    numbers and booleans without nulls are read from the buffers; anything else goes there.
    """
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return to_numpy(values.chunk(0))
        if values.num_chunks == 0:
            return values.to_numpy()
        return np.concatenate([to_numpy(chunk) for chunk in values.chunks])
    kind = values.type
    if values.null_count == 0 and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        data = values.buffers()[1]
        dtype = np.dtype(kind.to_pandas_dtype())
        return np.frombuffer(data, dtype=dtype, count=len(values),
                             offset=values.offset * dtype.itemsize)
    if values.null_count == 0 and pa.types.is_boolean(kind):
        bits = np.frombuffer(values.buffers()[1], dtype=np.uint8)
        unpacked = np.unpackbits(bits, bitorder="little", count=values.offset + len(values))
        return unpacked[values.offset:].view(bool)
    return values.to_numpy(zero_copy_only=False)


def present(column: pa.ChunkedArray) -> np.ndarray:
    """True where a value is neither null nor NaN."""
    import pyarrow.compute as pc  # 60 ms to import: only where it is used

    valid = pc.is_valid(column)
    if pa.types.is_floating(column.type):
        valid = pc.and_(valid, pc.invert(pc.fill_null(pc.is_nan(column), True)))
    return np.asarray(to_numpy(valid), dtype=bool)


def numeric(kind: pa.DataType) -> bool:
    """Integers, floats and decimals."""
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind))


def coded_column(arrow: pa.Table, column: str, *, missing: bool = False) -> Coded:
    """A column's values as codes and sorted labels; a null is -1 when ``missing`` allows."""
    values = arrow.column(column)
    coded: Coded | None = None
    if pa.types.is_dictionary(values.type):  # pandas categoricals arrive dictionary-encoded
        coded = _coded_dictionary(values)
        if coded is None:
            values = values.cast(values.type.value_type)
    elif pa.types.is_integer(values.type) and values.null_count == 0:
        # Integer ids (PSUs, strata) by a counting sort instead of hashing every value.
        codes, distinct = compact(to_numpy(values))
        coded = Coded(codes, [str(v) for v in distinct.tolist()])
    if coded is None:
        coded = _coded_by_hashing(values)
    if not missing and len(coded.codes) and coded.codes.min() < 0:
        raise RuleBroken(N_("column {column} has no value in data row {row}"), column=column,
                         row=int(np.flatnonzero(coded.codes < 0)[0]) + 1)
    return coded


def _coded_by_hashing(values: pa.ChunkedArray) -> Coded:
    import pyarrow.compute as pc  # 60 ms to import: only where it is used

    if pa.types.is_floating(values.type):
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    distinct = pc.drop_null(pc.unique(values))
    distinct = distinct.take(pc.sort_indices(distinct))
    codes = pc.fill_null(pc.index_in(values, value_set=distinct), -1)
    coded = to_numpy(codes).astype(np.intp)
    return Coded(coded, [label_text(v) for v in distinct.to_pylist()])


def _coded_dictionary(values: pa.ChunkedArray) -> Coded | None:
    """Codes of dictionary-encoded text from its indices (None: use the general path)."""
    kind = values.type.value_type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) or not len(values):
        return None
    combined = values.unify_dictionaries().combine_chunks()
    words = combined.dictionary.to_pylist()
    if None in words or len(set(words)) != len(words):
        return None
    indices = combined.indices
    if combined.null_count:
        import pyarrow.compute as pc

        indices = pc.fill_null(indices, -1)
    index = to_numpy(indices)
    in_use = index[index >= 0] if combined.null_count else index
    used = np.flatnonzero(np.bincount(in_use, minlength=len(words))).tolist()
    # Sorted as the general path sorts text: by code point, which is UTF-8 byte order.
    labels = sorted(words[i] for i in used)
    rank = np.full(len(words) + 1, -1, dtype=np.intp)  # a null's index -1 takes the last: -1
    position = {label: r for r, label in enumerate(labels)}
    rank[used] = [position[words[i]] for i in used]
    return Coded(rank[index], labels)


def as_arrow(table: pa.Table | object) -> pa.Table:
    """An Arrow table, or a pandas DataFrame made one."""
    if isinstance(table, pa.Table):
        return table
    if hasattr(table, "columns") and hasattr(table, "dtypes"):  # a pandas DataFrame
        return pa.Table.from_pandas(table, preserve_index=False)
    raise ValidationFailed(f"expected an Arrow table or a pandas DataFrame, got {type(table)}")


def require_columns(arrow: pa.Table, columns: Sequence[str]) -> None:
    """Refuse column names the table does not have, naming the ones it has."""
    _require_names(columns, arrow.column_names)


def _require_names(columns: Sequence[str], names: Sequence[str]) -> None:
    unknown = [name for name in columns if name not in names]
    if unknown:
        raise RuleBroken(N_("unknown column(s): {unknown}; the table has {columns}"),
                         unknown=", ".join(unknown), columns=", ".join(names))
