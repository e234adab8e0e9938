"""Helpers (帮扶责任人): one county cadre for every three to five registered households."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.synth import columns
from tuopin.synth.households import Households
from tuopin.synth.idnumbers import helper_id_numbers
from tuopin.synth.names import BUREAUS, POSTS, draw_surnames, person_names

FIRST_START = np.datetime64("2015-10-01")  # helpers were paired with households from late 2015
START_SPAN_DAYS = 640
BORN_FROM = np.datetime64("1965-01-01")  # cadres of working age in the 2010s and 2020s
BORN_SPAN_DAYS = 30 * 365


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
    born = BORN_FROM + rng.integers(0, BORN_SPAN_DAYS, size=count).astype("timedelta64[D]")
    male = rng.random(count) < 0.7
    return {
        "number": number,
        "name": person_names(rng, draw_surnames(rng, count), male),
        "unit": columns.words(units, rng.integers(0, len(units), size=count)),
        "post": columns.words(POSTS, rng.integers(0, len(POSTS), size=count)),
        "phone": columns.ascii_column(phone + ord("0")),
        "households": pc.binary_join(households, ";"),
        "start_date": columns.dates(start),
        "id_number": helper_id_numbers(int(code), born, male),
    }
