"""Which column of an ODK export is which tuopin field, and its cells as tuopin reads them.

A column is matched by the last segment of its path (``income-wage_income`` in Central,
``income/wage_income`` in Kobo: groups are pages, not meaning), or by the ``[fields]`` of a
``--map`` file. A select_multiple answer reads the same whether the export kept it in one
column (choice names separated by spaces) or split it into ``question/choice`` columns of
0 and 1 (Central's splitSelectMultiples, Kobo's "both" and "details").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tuopin.io.odk_mapping import FormInfo, Mapping, known_fields
from tuopin.io.odk_sources import Table
from tuopin.io.raw import RawFile, file_error
from tuopin.io.schema import FieldType, Kind, fields

LIST_TYPES = (FieldType.ENUM_LIST, FieldType.TEXT_LIST)


def select_multiple_fields(names: Mapping, info: FormInfo | None) -> set[str]:
    """tuopin fields answered by a select_multiple question."""
    found = {spec.name for spec in known_fields().values() if spec.type in LIST_TYPES}
    for question in info.select_multiple if info else ():
        found.add(names.fields.get(question, question))
    return found


@dataclass
class Columns:
    """Where each field is: its own column, or only its split ``question/choice`` ones."""

    found: list[str]  # tuopin fields present, in tuopin's order
    own: dict[str, int]
    split: dict[str, list[tuple[str, int]]]


def match_columns(table: Table, kind: Kind, sep: str, names: Mapping, multiple: set[str],
             shown: str) -> Columns:
    """Match a table's headers to ``kind``'s fields; a missing required field is refused."""
    specs = [s for s in fields(kind) if not (kind is Kind.MEMBERS
                                               and s.name == "household_number")]
    ours = {s.name for s in specs}

    def target(name: str) -> str | None:
        mapped = names.fields.get(name)
        if mapped is not None:
            return mapped if mapped in ours else None
        return name if name in ours else None

    def resolve(segments: list[str]) -> str | None:
        for start in range(len(segments)):
            found = target(sep.join(segments[start:]))
            if found is not None:
                return found
        return None

    own: dict[str, int] = {}
    split: dict[str, list[tuple[str, int]]] = {}
    for position, header in enumerate(table.raw.headers):
        name, owner, choice = _place(header, sep, resolve)
        if name is None:
            if owner in multiple and choice:
                split.setdefault(owner, []).append((choice, position))
            continue
        if name in own:
            raise file_error("Two columns of {table} in {name} are the field {field}: {first} "
                             "and {second}.", table=table.name, name=shown, field=name,
                             first=table.raw.headers[own[name]], second=header)
        own[name] = position
    found = [s.name for s in specs if s.name in own or s.name in split]
    missing = [s.name for s in specs if s.required and s.name not in found]
    if missing:
        if sep == "/" and _label_headers(table.raw.headers):
            raise file_error("The export {name} has the questions' labels as its column "
                             "headers: export it again from KoboToolbox with \"XML values "
                             "and headers\".", name=shown)
        raise file_error("The table {table} of {name} has no column for the required field "
                         "{fields}. If the form names it otherwise, map it with --map.",
                         table=table.name, name=shown, fields=", ".join(missing))
    return Columns(found, own, split)


def _place(header: str, sep: str, resolve: Callable[[list[str]], str | None]
           ) -> tuple[str | None, str | None, str]:
    """(field of the column, or: the select_multiple field and choice it is a split of)."""
    if sep == "-":
        base, slash, choice = header.partition("/")
        if slash:  # Central puts a choice after a slash, groups before dashes
            return None, resolve(base.split("-")), choice
        return resolve(header.split("-")), None, ""
    parts = header.split("/")
    name = resolve(parts)
    if name is None and len(parts) > 1:
        return None, resolve(parts[:-1]), parts[-1]
    return name, None, ""


def _label_headers(headers: list[str]) -> bool:
    """Headers that cannot be XML names (spaces, punctuation) or are tuopin's titles."""
    titles = {spec.header(lang) for spec in known_fields().values() for lang in ("zh", "en")}
    for header in headers:
        last = header.split("/")[-1]
        if header in titles or last in titles or any(
                not (ch.isalnum() or ch in "_-.") for ch in last):
            return True
    return False


def field_values(raw: RawFile, columns: Columns, names: Mapping) -> dict[str, list[str | None]]:
    """Each found field's cells as tuopin reads them: choices mapped, lists joined."""
    specs = known_fields()
    values: dict[str, list[str | None]] = {}
    for name in columns.found:
        if name in columns.own:
            cells = raw.table.column(columns.own[name]).to_pylist()
        else:
            cells = _joined(raw, columns.split[name])
        choices = names.choices.get(name, {})
        if name in columns.split or specs[name].type in LIST_TYPES:
            joiner = ";" if specs[name].type in LIST_TYPES else " "
            values[name] = [_items(cell, choices, joiner) for cell in cells]
        elif choices:
            values[name] = [choices.get(cell.strip(), cell) if cell else cell
                            for cell in cells]
        else:
            values[name] = cells
    return values


def _joined(raw: RawFile, choices: list[tuple[str, int]]) -> list[str | None]:
    """A select_multiple's split 0/1 columns as its one space-separated value."""
    picked = [(choice, raw.table.column(at).to_pylist()) for choice, at in choices]
    return [" ".join(choice for choice, cells in picked if (cells[i] or "").strip() == "1")
            or None for i in range(len(raw))]


def _items(cell: str | None, choices: dict[str, str], joiner: str) -> str | None:
    if not cell or not cell.strip():
        return None
    return joiner.join(choices.get(item, item) for item in cell.split())
