"""Helpers (帮扶责任人): one county cadre for every three to five registered households."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.synth import columns
from tuopin.synth.households import Households
from tuopin.synth.names import BUREAUS, POSTS, draw_surnames, person_names

FIRST_START = np.datetime64("2015-10-01")  # helpers were paired with households from late 2015
START_SPAN_DAYS = 640


def draw(rng: np.random.Generator, hh: Households) -> dict[str, pa.Array]:
    """The helpers file's columns for one county; registered households in village order."""
    assigned = hh.number[hh.registered]
    sizes = rng.integers(3, 6, size=len(assigned) // 3 + 1)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, len(assigned))) + 1 if len(assigned) else 0
    offsets = np.r_[0, np.minimum(ends[:count], len(assigned))].astype(np.int32)
    households = pa.ListArray.from_arrays(
        pa.array(offsets), columns.fixed_width(assigned, 16)
    )
    code = hh.county.code
    sequence = np.arange(1, count + 1)
    number = pc.binary_join_element_wise("H", columns.fixed_width(code * 100_000 + sequence, 11),
                                         "")
    units = [hh.county.name + bureau for bureau in BUREAUS]
    phone = columns.random_digit_strings(rng, ["13", "15", "18"], count, 11)
    start = FIRST_START + rng.integers(0, START_SPAN_DAYS, size=count).astype("timedelta64[D]")
    return {
        "number": number,
        "name": person_names(rng, draw_surnames(rng, count), rng.random(count) < 0.7),
        "unit": columns.words(units, rng.integers(0, len(units), size=count)),
        "post": columns.words(POSTS, rng.integers(0, len(POSTS), size=count)),
        "phone": columns.ascii_column(phone + ord("0")),
        "households": pc.binary_join(households, ";"),
        "start_date": columns.dates(start),
    }
