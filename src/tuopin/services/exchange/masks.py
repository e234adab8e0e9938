"""The masks of services/access/masking.py over whole Arrow columns at once, for exports.

Each mask here gives, cell for cell, the text its namesake in ``masking.MASKS`` gives (a
test compares them on many values, Chinese text included); null and empty cells stay as
they are, as ``masking.mask_payload`` leaves them.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

STAR = "*"


def _kept(head: int, tail: int) -> Callable[[pa.Array], pa.Array]:
    """The first ``head`` and last ``tail`` characters kept, the rest starred; a value of
    at most head + tail characters all starred."""

    def mask(values: pa.Array) -> pa.Array:
        length = pc.utf8_length(values)
        long = pc.greater(length, head + tail)
        stars = pc.binary_repeat(STAR, pc.if_else(long, pc.subtract(length, head + tail),
                                                  length))
        masked = pc.binary_join_element_wise(pc.utf8_slice_codeunits(values, 0, head), stars,
                                             pc.utf8_slice_codeunits(values, -tail), "")
        return pc.if_else(long, masked, stars)

    return mask


def _last_four(values: pa.Array) -> pa.Array:
    """Only the last four characters kept, behind at least four stars."""
    length = pc.utf8_length(values)
    long = pc.greater(length, 4)
    stars = pc.binary_repeat(STAR, pc.if_else(long, pc.max_element_wise(
        pc.subtract(length, 4), 4), length))
    return pc.if_else(long, pc.binary_join_element_wise(
        stars, pc.utf8_slice_codeunits(values, -4), ""), stars)


mask_id, mask_phone, mask_account = _kept(6, 4), _kept(3, 4), _kept(4, 4)
# by column name, as masking.MASKS
MASKS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "id_number": mask_id, "phone": mask_phone, "bank_account": mask_account,
    "account": _last_four, "payee_id_number": mask_id}


def masked(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with every column named like a personal number masked."""
    columns = [MASKS[name](column) if name in MASKS else column
               for name, column in zip(batch.schema.names, batch.columns, strict=True)]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)
