"""Streaming writers for the import files: one county at a time, so memory stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tuopin.io.schema import FIELDS, FieldType, Kind

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.INTEGER: pa.int32(),
    FieldType.DECIMAL: pa.float64(),
    FieldType.DATE: pa.date32(),
    FieldType.BOOLEAN: pa.bool_(),
}
FORMATS = ("csv", "parquet")


def arrow_schema(kind: Kind) -> pa.Schema:
    """The Arrow schema of a kind's table: its columns in file order, typed."""
    return pa.schema([(f.name, ARROW_TYPES.get(f.type, pa.string())) for f in FIELDS[kind]])


class TableWriter(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class CsvWriter:
    """UTF-8 CSV with a bare header line, booleans as 1/0 and empty cells for missing values."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._file: BinaryIO = path.open("wb")
        self._file.write((",".join(schema.names) + "\n").encode())
        self._schema = pa.schema(
            [(f.name, pa.int8() if f.type == pa.bool_() else f.type) for f in schema]
        )
        # Unquoted cells: no generated value holds a comma, quote or newline, and Arrow
        # raises if one ever does rather than write a broken row.
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        self._writer = pacsv.CSVWriter(self._file, self._schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table.cast(self._schema))

    def close(self) -> None:
        self._writer.close()
        self._file.close()


class ParquetWriter:
    """Parquet with typed columns (booleans, dates, integers, decimals as doubles)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def open_writer(path: Path, kind: Kind, fmt: str) -> TableWriter:
    """A streaming writer of ``kind``'s tables to ``path`` in ``fmt`` (csv or parquet)."""
    schema = arrow_schema(kind)
    return CsvWriter(path, schema) if fmt == "csv" else ParquetWriter(path, schema)


def _write_pairs(pairs: list[tuple[str, str]], names: tuple[str, str], path: Path) -> Path:
    table = pa.table({name: pa.array([pair[k] for pair in pairs], pa.string())
                      for k, name in enumerate(names)})
    writer = CsvWriter(path, table.schema)
    writer.write(table)
    writer.close()
    return path


def write_planted(planted: list[tuple[str, str]], path: Path) -> Path:
    """The planted cases as a CSV file with the columns rule and subject."""
    return _write_pairs(planted, ("rule", "subject"), path)


def write_truth(truth: list[tuple[str, str]], path: Path) -> Path:
    """The planted classification errors as a CSV file with the columns household_number
    and error (wrongly_exited or missed_poor)."""
    return _write_pairs(truth, ("household_number", "error"), path)
