"""Citizen ID numbers (GB 11643-1999) for synthetic people, unique and valid by construction."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tuopin.domain.errors import ValidationFailed
from tuopin.domain.idnumber import check_chars_vectorised
from tuopin.synth.columns import ascii_column, digits

MAX_RANK = 499  # sequences 001-999 hold 500 men (odd) and 499 women (even, from 002)


def ymd(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` values as YYYYMMDD integers."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months).astype(np.int64) + 1
    return year * 10_000 + month * 100 + day


def sequences(birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Three-digit sequences, odd for men: the rank within (birth date, sex), in member order."""
    key = birth.astype(np.int64) * 2 + male
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    rank = np.empty(len(key), dtype=np.int64)
    rank[order] = np.arange(len(key)) - group_start
    limit = np.where(male, MAX_RANK, MAX_RANK - 1)
    if (rank > limit).any():
        raise ValidationFailed(
            "more people share a birth date and sex in one county than ID numbers allow; "
            "use fewer households per county"
        )
    return np.where(male, 2 * rank + 1, 2 * rank + 2)


def id_numbers(county_code: int, birth: np.ndarray, male: np.ndarray) -> pa.StringArray:
    """ID numbers of people registered in one county (address code = the county's)."""
    first17 = county_code * 10**11 + ymd(birth) * 1_000 + sequences(birth, male)
    chars = np.empty((len(birth), 18), dtype=np.uint8)
    body = digits(first17, 17)
    chars[:, :17] = body + ord("0")
    chars[:, 17] = check_chars_vectorised(body).astype("S1").view(np.uint8)
    return ascii_column(chars)


HELPER_SEQUENCE = 900  # helpers' sequences start above any a county's members reach


def helper_id_numbers(county_code: int, birth: np.ndarray, male: np.ndarray) -> pa.StringArray:
    """ID numbers of a county's helpers (cadres of its bureaus, born in the county): their
    sequences lie above 900, so they never meet a registered member's."""
    first17 = (county_code * 10**11 + ymd(birth) * 1_000 + HELPER_SEQUENCE
               + sequences(birth, male) % 100)
    chars = np.empty((len(birth), 18), dtype=np.uint8)
    body = digits(first17, 17)
    chars[:, :17] = body + ord("0")
    chars[:, 17] = check_chars_vectorised(body).astype("S1").view(np.uint8)
    return ascii_column(chars)
