"""Exact money for the books: integer fen (0.01 yuan), never a float.

Funds, budgets, allocations and payments are kept as integer fen and shown as text with two
decimals (``"1234.50"``), in files, JSON and pages alike. Reading is strict: digits with an
optional sign, thousands commas in their places (``1,234.50``) or none, and at most two
decimals; ``12.345``, ``1,2``, ``¥12`` and exponents are not amounts. A share of an amount
split by weights (a fund's disbursed money over its projects) is rounded to the fen by the
largest-remainder method, so the shares always add up to the amount exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tuopin.domain.errors import RuleBroken
from tuopin.i18n import N_

# at most 15 digits of yuan (the importer's limit): sums of millions of them fit int64 fen
AMOUNT = re.compile(r"^(?P<sign>[+-]?)(?P<yuan>\d{1,3}(?:,\d{3}){0,4}|\d{1,15})"
                    r"(?:\.(?P<fen>\d{1,2}))?$", re.ASCII)
TOO_MANY_DECIMALS = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{3,}$", re.ASCII)
NOT_AN_AMOUNT = N_("Not an amount of money in yuan (write it like 1234.50).")
MORE_THAN_FEN = N_("An amount has at most two decimal places (yuan and fen).")


def parse_fen(text: str) -> int:
    """``text`` (yuan) as integer fen; RuleBroken naming why it is not an amount."""
    written = text.strip()
    found = AMOUNT.match(written)
    if found is None:
        reason = MORE_THAN_FEN if TOO_MANY_DECIMALS.match(written) else NOT_AN_AMOUNT
        raise RuleBroken(reason)
    fen = int(found["yuan"].replace(",", "")) * 100 + int((found["fen"] or "0").ljust(2, "0"))
    return -fen if found["sign"] == "-" else fen


def fen_text(fen: int) -> str:
    """Integer fen as yuan with two decimals: 123450 → "1234.50", -5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan}.{cents:02d}"


def fen_grouped(fen: int) -> str:
    """Integer fen as yuan for reading on a page: 123456789 → "1,234,567.89"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{yuan:,}.{cents:02d}"


def split_fen(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` fen split in proportion to ``weights`` (non-negative), each share a whole
    number of fen, adding up to ``total`` exactly (largest remainder; ties to the earlier)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    exact = [magnitude * w for w in weights]  # each share times ``whole``
    shares = [e // whole for e in exact]
    left = magnitude - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] % whole), i))
    for i in order[:left]:
        shares[i] += 1
    return [sign * s for s in shares]
