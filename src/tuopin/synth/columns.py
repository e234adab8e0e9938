"""Turning NumPy arrays into the Arrow columns of the import format, without Python loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative integers as an (n, width) uint8 array."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for position in range(width - 1, -1, -1):
        out[:, position] = rest % 10
        rest = rest // 10
    if rest.any():
        raise ValueError(f"a value has more than {width} digits")
    return out


def ascii_column(chars: np.ndarray) -> pa.StringArray:
    """An Arrow string column from an (n, width) uint8 array of ASCII codes, zero-copy."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), n, buffers)  # type: ignore[return-value]


def fixed_width(values: np.ndarray, width: int) -> pa.StringArray:
    """Zero-padded decimal strings, e.g. region codes and household numbers."""
    return ascii_column(digits(values, width) + ord("0"))


def random_digit_strings(
    rng: np.random.Generator, prefixes: list[str], n: int, width: int
) -> np.ndarray:
    """(n, width) digit values that start with one of ``prefixes``, the rest random."""
    out = rng.integers(0, 10, size=(n, width), dtype=np.uint8)
    which = rng.integers(0, len(prefixes), size=n)
    for k, prefix in enumerate(prefixes):
        rows = which == k
        out[np.ix_(rows, np.arange(len(prefix)))] = np.frombuffer(prefix.encode(), np.uint8) - 48
    return out


def luhn_digit(body: np.ndarray) -> np.ndarray:
    """The Luhn check digit for each row of an (n, k) digit array (bank card numbers)."""
    doubled = body[:, ::-1].astype(np.int64)
    doubled[:, ::2] *= 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    return ((10 - doubled.sum(axis=1) % 10) % 10).astype(np.uint8)


def masked(values: pa.Array, keep: np.ndarray) -> pa.Array:
    """``values`` with nulls where ``keep`` is false."""
    return pc.if_else(pa.array(keep), values, pa.scalar(None, values.type))


def money(values: np.ndarray) -> pa.Array:
    """Amounts in yuan rounded to cents, so the file holds at most two decimals."""
    return pa.array(np.round(values, 2), pa.float64())


def fen_text(fen: np.ndarray) -> pa.Array:
    """Amounts in integer fen as exact yuan text with two decimals ("1234.50", "-0.05")."""
    magnitude = np.abs(fen.astype(np.int64))
    yuan = pc.cast(pa.array(magnitude // 100), pa.string())
    text = pc.binary_join_element_wise(yuan, fixed_width(magnitude % 100, 2), ".")
    return pc.if_else(pa.array(fen < 0), pc.binary_join_element_wise("-", text, ""), text)


def dates(days: np.ndarray, keep: np.ndarray | None = None) -> pa.Array:
    """An Arrow date column from ``datetime64[D]`` values, null where ``keep`` is false."""
    mask = None if keep is None else ~keep
    return pa.array(days.astype("datetime64[D]"), pa.date32(), mask=mask)


def words(vocabulary: list[str], index: np.ndarray, keep: np.ndarray | None = None) -> pa.Array:
    """Strings picked from a vocabulary by index, null where ``keep`` is false."""
    mask = None if keep is None else ~keep
    return pa.array(vocabulary, pa.string()).take(pa.array(index, pa.int64(), mask=mask))


def optional(values: np.ndarray, keep: np.ndarray, type_: pa.DataType) -> pa.Array:
    """A typed Arrow column with nulls where ``keep`` is false."""
    return pa.array(values, type_, mask=~keep)
