"""Citizen ID numbers (公民身份号码) per GB 11643-1999.

18 characters: 6 address digits (GB/T 2260), 8 birth digits (YYYYMMDD), 3 sequence digits
(odd = male) and an ISO 7064 MOD 11-2 check character ('X' stands for 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tuopin.domain.enums import Sex

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# sum mod 11 -> check character
CHECK_CHARS = "10X98765432"

# GB/T 2260 first-level codes (provinces, autonomous regions, municipalities, SARs, Taiwan).
# Only the province is checked: the full six-digit prefix of an old ID may be a county code
# that has since been abolished (the standard's own example 440524... is one).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also accepts full-width and superscript digits, which int() may refuse
    return text.isascii() and text.isdigit()


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdInfo:
    """What an ID number tells about its holder."""

    address_code: str
    birth_date: date
    sex: Sex


class IdNumberError(ValueError):
    """An ID number breaks GB 11643-1999; ``code`` names the rule for the report."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code if not detail else f"{code}: {detail}")
        self.code = code
        self.detail = detail


def normalize(raw: str) -> str:
    """Strip blanks and upper-case a trailing 'x', as people type it."""
    return raw.strip().replace(" ", "").upper()


def parse(raw: str, *, today: date) -> IdInfo:
    """Validate an ID number and return what it encodes; raise IdNumberError otherwise."""
    value = normalize(raw)
    if len(value) != 18:
        raise IdNumberError("id_length", str(len(value)))
    if not _ascii_digits(value[:17]) or not (_ascii_digits(value[17]) or value[17] == "X"):
        raise IdNumberError("id_chars")
    if value[:2] not in PROVINCE_CODES:
        raise IdNumberError("id_address", value[:6])
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise IdNumberError("id_birth_date", value[6:14]) from exc
    if born > today or born.year < 1850:
        raise IdNumberError("id_birth_date", value[6:14])
    if check_char(value[:17]) != value[17]:
        raise IdNumberError("id_check_char", value[17])
    sex = Sex.MALE if int(value[16]) % 2 == 1 else Sex.FEMALE
    return IdInfo(address_code=value[:6], birth_date=born, sex=sex)


def is_valid(raw: str, *, today: date) -> bool:
    """True when ``raw`` is a well-formed ID number."""
    try:
        parse(raw, today=today)
    except IdNumberError:
        return False
    return True


def check_chars_vectorised(digits: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) array of digit values 0-9, as a (n,) array of 'U1'."""
    sums = (digits.astype(np.int64) * np.asarray(WEIGHTS, dtype=np.int64)).sum(axis=1)
    lookup = np.array(list(CHECK_CHARS), dtype="U1")
    return lookup[sums % 11]


def check_bytes_vectorised(digits: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) array of digit values 0-9, as their ASCII codes.

    Summed column by column in 16 bits (at most 17 x 10 x 255 for a byte that is not a
    digit: the caller never uses those rows): NumPy's integer matrix product has no BLAS
    behind it and took three times as long on a million rows."""
    sums = np.zeros(len(digits), dtype=np.uint16)
    for at, weight in enumerate(WEIGHTS):
        sums += digits[:, at].astype(np.uint16) * np.uint16(weight)
    return np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[sums % 11]


def compose(address_code: str, born: date, sequence: int) -> str:
    """Build a valid ID number from its parts (sequence 0-999, odd for men)."""
    first17 = f"{address_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
