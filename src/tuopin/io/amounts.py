"""Amounts of the books (funds, budgets, payments), typed to integer fen over a column.

Strict as domain.fen.parse_fen, vectorised for millions of payments: digits with an optional
sign, thousands commas in their places or none, at most two decimals. ``12.345`` is refused
for its third decimal; ``1,2``, ``¥12``, ``1e3`` and ``inf`` are not amounts. The field's
``minimum`` and ``maximum`` are in yuan.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.fen import MORE_THAN_FEN, NOT_AN_AMOUNT
from tuopin.io.blanks import stripped
from tuopin.io.cells import Parsed, _flag
from tuopin.io.schema import Field

# at most 15 digits of yuan: every amount fits int64 fen with room to add them up
AMOUNT_RE = r"^[+-]?(\d{1,3}(,\d{3}){0,4}|\d{1,15})(\.\d{1,2})?$"
SUB_FEN_RE = r"^[+-]?(\d{1,3}(,\d{3})+|\d+)\.\d{3,}$"


def parse_fen(cells: pa.Array, spec: Field) -> Parsed:
    """A column of yuan as int64 fen; every cell that is not an amount is a bad cell."""
    text = stripped(cells)
    ok = pc.match_substring_regex(text, AMOUNT_RE)
    good = pc.if_else(ok, pc.replace_substring(text, ",", ""), pa.scalar(None, pa.string()))
    parts = pc.extract_regex(good, r"^(?P<sign>[+-]?)(?P<yuan>\d+)(?:\.(?P<fen>\d*))?$")
    yuan = pc.cast(pc.struct_field(parts, "yuan"), pa.int64())
    cents = pc.cast(pc.utf8_rpad(pc.struct_field(parts, "fen"), 2, "0"), pa.int64())
    fen = pc.add(pc.multiply(yuan, 100), cents)
    fen = pc.if_else(pc.equal(pc.struct_field(parts, "sign"), "-"), pc.negate(fen), fen)
    parsed = Parsed(fen)
    present_bad = pc.and_(pc.is_valid(text), pc.invert(ok))
    sub_fen = pc.match_substring_regex(text, SUB_FEN_RE)
    _flag(parsed, pc.and_(present_bad, sub_fen), MORE_THAN_FEN)
    _flag(parsed, pc.and_(present_bad, pc.invert(sub_fen)), NOT_AN_AMOUNT)
    if spec.minimum is not None:
        _flag(parsed, pc.less(fen, round(spec.minimum * 100)), "Less than the minimum {limit}.",
              limit=spec.minimum)
    if spec.maximum is not None:
        _flag(parsed, pc.greater(fen, round(spec.maximum * 100)),
              "More than the maximum {limit}.", limit=spec.maximum)
    return parsed
