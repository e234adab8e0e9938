"""Amounts of money in yuan: finite, not negative, bounded, and exact to the fen (0.01).

An amount is kept as a ``Decimal`` of two places. Text is read the way people write amounts
(``1,234.56``, surrounding spaces), never in exponent form: ``1e400``, ``inf`` and ``nan``
are not amounts, whatever float() makes of them.
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal

from tuopin.domain.errors import RuleBroken
from tuopin.i18n import N_

CENT = Decimal("0.01")
# The largest amount one figure may hold (the importer's upper bound on survey incomes too):
# a hundred million yuan is far above any household's income and below any overflow.
MONEY_MAX = Decimal("100000000")
# Digits then an optional fraction, with thousands commas in their places or none at all.
# ASCII digits only, as the importer reads them (Python's \d would take ０-９ and ٠-٩ too).
AMOUNT_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+", re.ASCII)
SHOWN_CHARS = 40

MISSING = N_("{field}: an amount is required.")
NOT_AMOUNT = N_("{field}: {value} is not an amount of money (write it in yuan, like 1234.56).")
NOT_FINITE = N_("{field}: the amount is not a finite number.")
NEGATIVE = N_("{field}: an amount of money cannot be negative.")
TOO_PRECISE = N_("{field}: an amount has at most two decimal places (yuan and fen).")
TOO_LARGE = N_("{field}: the amount is more than the maximum of {maximum} yuan.")


def parse_money(value: object, *, field: str, maximum: Decimal = MONEY_MAX) -> Decimal:
    """``value`` (int, Decimal, float or text) as yuan to the fen; RuleBroken if it is not one."""
    amount = _decimal(value, field)
    if not amount.is_finite():
        raise RuleBroken(NOT_FINITE, field=field)
    if amount < 0:
        raise RuleBroken(NEGATIVE, field=field)
    if amount > maximum:
        raise RuleBroken(TOO_LARGE, field=field, maximum=f"{maximum:,}")
    cents = _to_the_fen(amount)
    if cents is None:
        raise RuleBroken(TOO_PRECISE, field=field)
    return cents.copy_abs()  # -0.00 is 0.00


def parse_optional_money(
    value: object, *, field: str, maximum: Decimal = MONEY_MAX
) -> Decimal | None:
    """Like ``parse_money``, but None or blank text is no amount at all."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_money(value, field=field, maximum=maximum)


def _to_the_fen(amount: Decimal) -> Decimal | None:
    """``amount`` with exactly two places, or None when it has a non-zero digit below the fen.

    Read from the digits themselves: quantize and normalize round to the context's
    precision, which would pass 1.000…0001 with enough zeros.
    """
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # a finite Decimal's exponent is a number
    below = -exponent - 2
    if below > 0 and any(digits[-below:]):
        return None
    exact = Context(prec=len(digits) + max(exponent, 0) + 2)
    return amount.quantize(CENT, context=exact)


def _decimal(value: object, field: str) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleBroken(MISSING, field=field)
    if isinstance(value, bool):  # True is an int, but not an amount
        raise RuleBroken(NOT_AMOUNT, field=field, value=str(value))
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 0.1, not 0.1000…0555
        return Decimal(repr(value)) if math.isfinite(value) else Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if AMOUNT_RE.fullmatch(text):
            return Decimal(text.replace(",", ""))
    raise RuleBroken(NOT_AMOUNT, field=field, value=_shown(value))


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
