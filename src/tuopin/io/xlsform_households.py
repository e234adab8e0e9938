"""The households a form picks from: one CSV per area, as a media file or an Entity List.

Both layouts carry the same properties - ``number``, ``village`` (its code),
``village_name``, ``head`` and ``address`` - and a ``label`` the enumerator reads
("6211210010010001 张三 一组12号"), so the form's ``select_one_from_file households.csv``
with ``value=number label=label`` works with either:

- ``media``: a form attachment for ``select_one_from_file``; its ``name`` column (the
  choice's default value) repeats the number.
- ``entities``: the file ODK Central's "Upload Entities" takes for an Entity List named
  ``households``: a ``label`` and properties (Central makes each entity's id; ``name``,
  ``label`` and names starting ``__`` are its own, never properties).

No ID numbers, no phones: a phone in the field carries only what finds the household.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PROPERTIES = ("number", "village", "village_name", "head", "address")
RESERVED = ("name", "label")  # an entity's own; "__" starts Central's system names


class Layout(StrEnum):
    MEDIA = "media"
    ENTITIES = "entities"


@dataclass(frozen=True)
class HouseholdChoice:
    """One household as the enumerator picks it."""

    number: str
    village: str  # the village's code
    village_name: str
    head: str | None
    address: str | None

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.number, self.head, self.address) if part)


def columns(layout: Layout) -> tuple[str, ...]:
    """The header of a households file in ``layout``."""
    return ("name", "label", *PROPERTIES) if layout is Layout.MEDIA else ("label", *PROPERTIES)


def _cell(value: str | None) -> str:
    # one line per household: a phone's CSV reader and a person scanning the list both
    # read a line break inside an address as a new household
    return re.sub(r"\s+", " ", value).strip() if value else ""


def households_csv(rows: Iterable[HouseholdChoice], layout: Layout) -> bytes:
    """The households file as UTF-8 CSV (no byte-order mark: ODK reads it into the first
    header's name)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = columns(layout)
    writer.writerow(header)
    for row in rows:
        values = {"name": row.number, "label": row.label,
                  **{name: getattr(row, name) for name in PROPERTIES}}
        writer.writerow([_cell(values[name]) for name in header])
    return out.getvalue().encode("utf-8")


def write_households(rows: Iterable[HouseholdChoice], path: Path, layout: Layout) -> Path:
    path.write_bytes(households_csv(rows, layout))
    return path
