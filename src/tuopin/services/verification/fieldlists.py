"""Field lists: a plan's households, one file per village, to take to the field and bring
back filled in (the findings importer reads the same file).

A list holds what a verifier needs to find a household and nothing more: the township,
village, household number, the head's name, the head's ID number masked (the region and the
last four characters), the address, the registry status and the frame the household was
drawn in. Then come the findings' columns - empty, or as recorded so far - under the same
headers the importer reads (services.verification.findings.FIELDS). Rows are sorted by
household number; files are named ``plan<ID>_<village code>.xlsx`` (or ``.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from tuopin.domain.enums import HouseholdStatus, Titled
from tuopin.domain.verification import Frame
from tuopin.i18n import N_, gettext, normalize_lang
from tuopin.io.schema import FieldType
from tuopin.io.writers import write_table
from tuopin.services import audit
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.verification.findings import FIELDS, sample_rows
from tuopin.services.verification.visits import household_context

# the columns before the findings: what finds the household (msgids of their headers)
CONTEXT = {"position": N_("No."), "township": N_("Township"), "village": N_("Village"),
           "head": N_("Head of household"), "head_id": N_("Head's ID number (masked)"),
           "address": N_("Address"), "status": N_("Household status"),
           "frame": N_("Drawn as")}
FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class FieldList:
    """One village's list: its rows as text columns, headers in the list's language."""

    plan: int
    village_code: str
    village: str
    township: str
    table: pa.Table

    def file_name(self, fmt: str = "xlsx") -> str:
        return f"plan{self.plan}_{self.village_code}.{fmt}"


def _title(kind: type[Titled], value: str | None, lang: str) -> str | None:
    return None if value is None else gettext(kind.of(value).title, lang)


def _cell(spec_type: FieldType, enum: type[Titled] | None, value: Any, lang: str) -> Any:
    if value is None:
        return None
    if enum is not None:
        return _title(enum, value, lang)
    if spec_type is FieldType.BOOLEAN:
        return gettext("yes", lang) if value else gettext("no", lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, date) else str(value)


@changes(Action.READ_VERIFICATION)
def field_lists(db: Session, *, principal: Principal, plan_id: int, lang: str,
                village: str | None = None) -> list[FieldList]:
    """A drawn plan's field lists, one per village in ``principal``'s scope (or only
    ``village``), for whoever may see its list; audited in ``db``'s transaction as an export
    (the lists name each sampled household's head and address; the ID is always masked)."""
    lists = _field_lists(db, principal, plan_id, lang, village)
    if lists:
        audit.record_export(db, actor=principal.actor, filename=f"plan{plan_id}-fieldlists",
                            masked=True, kind="fieldlists",
                            plan=plan_id, villages=[found.village_code for found in lists],
                            rows=sum(found.table.num_rows for found in lists),
                            scope=principal.scope.region_code or "")
    return lists


def _field_lists(db: Session, principal: Principal, plan_id: int, lang: str,
                 village: str | None) -> list[FieldList]:
    lang = normalize_lang(lang)
    rows = sorted(sample_rows(db, principal=principal, plan_id=plan_id, village=village),
                  key=lambda r: (r["village_code"], r["household_number"]))
    if not rows:
        return []
    context = household_context(db, rows)
    names = next(iter(context.values()))["names"]
    columns: dict[str, list[Any]] = {name: [] for name in CONTEXT}
    columns.update({spec.name: [] for spec in FIELDS})
    starts, position = {}, 0
    for index, row in enumerate(rows):
        code = row["village_code"]
        if code not in starts:
            starts[code], position = index, 0
        position += 1
        extra = context[row["household_number"]]
        columns["position"].append(position)
        columns["township"].append(names.get(row["township_code"], row["township_code"]))
        columns["village"].append(names.get(code, code))
        columns["head"].append(extra["head"])
        columns["head_id"].append(extra["head_id"])
        columns["address"].append(extra["address"])
        columns["status"].append(_title(HouseholdStatus, extra["status"], lang))
        columns["frame"].append(_title(Frame, row["frame"], lang))
        recorded = row.get("visited") is not None
        for spec in FIELDS:
            value = row.get(spec.name) if recorded or spec.name == "household_number" else None
            columns[spec.name].append(None if value is None else _cell(
                spec.type, spec.enum, value, lang))
    headers = {**{n: gettext(t, lang) for n, t in CONTEXT.items()},
               **{spec.name: spec.header(lang) for spec in FIELDS}}
    table = pa.table({headers[name]: _array(name, values) for name, values in columns.items()})
    ends = [*list(starts.values())[1:], len(rows)]
    return [FieldList(plan_id, code, names.get(code, code),
                      names.get(rows[start]["township_code"], ""),
                      table.slice(start, end - start))
            for (code, start), end in zip(starts.items(), ends, strict=True)]


def _array(name: str, values: list[Any]) -> pa.Array:
    if all(v is None for v in values):  # a column to fill in: nothing to type or quote
        return pa.nulls(len(values))
    if name == "position":
        return pa.array(values, pa.int64())
    if name == "visited_on":
        return pa.array(values, pa.date32())
    return pa.array(values, pa.string())


def write_field_list(found: FieldList, folder: Path, fmt: str = "xlsx") -> Path:
    """Write one village's list into ``folder`` as XLSX (or CSV); returns its path."""
    if fmt not in FORMATS:
        raise ValueError(f"a field list is written as {' or '.join(FORMATS)}, not {fmt!r}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / found.file_name(fmt)
    write_table(found.table, path, fmt=fmt)
    return path
