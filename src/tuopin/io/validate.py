"""From a raw file to typed, checked columns: every problem in the file, found at once.

These are the checks that need only the file itself: headers, cell types, duplicates
inside the file and rules across the fields of a row. Checks against the database (does
the village exist, is this ID number already someone else's) belong to the import service.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain import gb2260, regions
from tuopin.domain.enums import RegionLevel, Relation, Sex
from tuopin.domain.errors import ValidationFailed
from tuopin.io.cells import ID_REASONS, Parsed, parse
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile, file_error
from tuopin.io.schema import Field, Kind, fields
from tuopin.io.threads import in_background, map_columns
from tuopin.io.validate_funds import FUND_RULES


@dataclass
class Validated:
    """Typed columns named by field, each row's own number, and what was wrong."""

    kind: Kind
    table: pa.Table
    rows: np.ndarray  # the file's row number of each table row
    headers: dict[str, str]  # field name -> the header it was found under
    raw: dict[str, pa.Array] = field(default_factory=dict)  # the cells as typed by the user
    problems: list[Problem] = field(default_factory=list)

    def bad_positions(self) -> np.ndarray:
        """0-based positions of rows with at least one problem."""
        index = {int(r): i for i, r in enumerate(self.rows)}
        return np.array(sorted({index[p.row] for p in self.problems if p.row in index}),
                        dtype=np.int64)

    def add_at_row(self, row: int, name: str, reason: str, **params: object) -> None:
        """Record a problem on the file's row number ``row`` (as checks in SQL report it)."""
        if not hasattr(self, "_positions"):
            self._positions = {int(r): i for i, r in enumerate(self.rows)}
        self.add(self._positions[int(row)], name, reason, **params)

    def add(self, position: int, name: str, reason: str, **params: object) -> None:
        """Record a problem with the cell at ``position`` of field ``name``."""
        cells = self.raw.get(name)
        value = cells[position].as_py() if cells is not None else None
        self.problems.append(Problem(int(self.rows[position]), self.headers.get(name, name),
                                     value or "", reason, params))


def _header_index(kind: Kind) -> dict[str, Field]:
    index: dict[str, Field] = {}
    for spec in fields(kind):
        for label in (spec.name, spec.header("en"), spec.header("zh")):
            index[label.strip().lower()] = spec
    return index


def match_headers(kind: Kind, headers: list[str]) -> dict[str, int]:
    """Field name -> column position; unknown columns are ignored, missing ones refused."""
    index = _header_index(kind)
    found: dict[str, int] = {}
    problems: list[Problem] = []
    for position, header in enumerate(headers):
        spec = index.get(header.strip().lower())
        if spec is None:
            continue
        if spec.name in found:
            problems.append(Problem(1, header, header, "Column {name} appears twice.",
                                    {"name": spec.name}))
        found[spec.name] = position
    if not found:
        expected = ", ".join(f.header("zh") for f in fields(kind))
        raise file_error(
            "The header row matches no column of {kind}. Expected columns such as: {expected}.",
            kind=kind.value, expected=expected,
        )
    for spec in fields(kind):
        if spec.required and spec.name not in found:
            problems.append(Problem(1, spec.header("zh"), "",
                                    "The required column {name} is missing.",
                                    {"name": {"zh": spec.header("zh"), "en": spec.name}}))
    if problems:
        raise ValidationFailed(f"{len(problems)} problems in the header row", problems)
    return found


def validate_file(raw: RawFile, kind: Kind, *, today: date) -> Validated:
    """Type every column of ``raw`` as ``kind`` and apply the in-file rules."""
    positions = match_headers(kind, raw.headers)
    rows = raw.rows.to_numpy()
    n = len(rows)
    arrays: dict[str, pa.Array] = {}
    result = Validated(kind, pa.table({}), rows,
                       {name: raw.headers[i] for name, i in positions.items()})

    def typed(spec: Field) -> tuple[pa.Array, Parsed]:
        if spec.name in positions:
            cells = raw.table.column(positions[spec.name]).combine_chunks()
        else:
            cells = pa.nulls(n, pa.string())
        return cells, parse(cells, spec, today=today)

    specs = fields(kind)
    for spec, (cells, parsed) in zip(specs, map_columns(typed, specs, rows=n), strict=True):
        result.raw[spec.name] = cells
        for position, reason, params in parsed.bad:
            result.add(position, spec.name, reason, **params)
        arrays[spec.name] = parsed.values
        if spec.required:
            missing = np.flatnonzero(pc.is_null(cells).to_numpy(zero_copy_only=False))
            for at in missing:
                result.add(int(at), spec.name, "A value is required.")
    result.table = pa.table(arrays)
    RULES[kind](result, today)
    return result


def _duplicates(result: Validated, names: tuple[str, ...], reason: str,
                distinct: bool | None = None) -> None:
    """Report every row whose key repeats an earlier row's, naming the earlier row
    (``distinct``: whether the keys are known to be all different, if counted already)."""
    if distinct if distinct is not None else _all_distinct(result.table, names):
        return  # the usual file: no row needs looking at
    columns = [result.table.column(name).to_pylist() for name in names]
    first: dict[tuple[object, ...], int] = {}
    for position, key in enumerate(zip(*columns, strict=True)):
        if any(part is None for part in key):
            continue
        if key in first:
            earlier = int(result.rows[first[key]])
            result.add(position, names[-1], reason, other=earlier)
        else:
            first[key] = position


def _all_distinct(table: pa.Table, names: tuple[str, ...]) -> bool:
    """Whether no two rows with every part of the key share it (counted in Arrow)."""
    if len(names) == 1:  # pc.unique: four times faster than pc.count_distinct here
        column = table.column(names[0])
        nulls = column.null_count
        return len(pc.unique(column)) - (nulls > 0) == len(column) - nulls
    keyed = table.select(list(names))
    for name in names:
        keyed = keyed.filter(pc.is_valid(keyed.column(name)))
    return keyed.group_by(list(names)).aggregate([]).num_rows == keyed.num_rows


def _check_regions(result: Validated, today: date) -> None:
    """Codes unique in the file; level and parent derived from the code itself."""
    _duplicates(result, ("code",), "The same code is already on row {other}.")
    codes = result.table.column("code").to_pylist()
    levels = [int(regions.level_of(c)) if c else None for c in codes]
    parents = [regions.parent_of(c) if c else None for c in codes]
    western = result.table.column("western").to_pylist()
    for position, (level, flag) in enumerate(zip(levels, western, strict=True)):
        if flag is not None and level != RegionLevel.PROVINCE:
            result.add(position, "western", "Only a province carries the western-region flag.")
    defaults = [gb2260.is_western(c) if c and lv == RegionLevel.PROVINCE else None
                for c, lv in zip(codes, levels, strict=True)]
    t = result.table
    t = t.set_column(t.schema.get_field_index("western"), "western",
                     pc.coalesce(t.column("western"), pa.array(defaults, type=pa.bool_())))
    t = t.append_column("level", pa.array(levels, type=pa.int64()))
    result.table = t.append_column("parent_code", pa.array(parents, type=pa.string()))


def _check_households(result: Validated, today: date) -> None:
    _duplicates(result, ("number",), "The same household number is already on row {other}.")
    for position, code in enumerate(result.table.column("village_code").to_pylist()):
        if code and regions.level_of(code) != RegionLevel.VILLAGE:
            result.add(position, "village_code", "Not a village code (12 significant digits).")
    t = result.table
    identified = t.column("year_identified").to_numpy(zero_copy_only=False)
    exited = t.column("year_exited").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(exited < identified):
        result.add(int(i), "year_exited",
                   "The exit year is before the year of identification ({year}).",
                   year=int(identified[i]))
    years = np.asarray(exited, dtype=float)
    for i in np.flatnonzero(years > today.year):
        result.add(int(i), "year_exited", "The year is in the future.")


def _check_members(result: Validated, today: date) -> None:
    """ID numbers unique in the file; sex and birth date agree with the ID (or come from it)."""
    t = result.table
    # the two counts of distinct keys run beside the reading of the ID numbers
    counted = in_background(lambda: (_all_distinct(t, ("id_number",)), _heads_distinct(t)),
                            rows=t.num_rows)
    ids = pc.fill_null(t.column("id_number"), "0" * 18)
    id_sex = pc.if_else(_odd(ids), Sex.MALE.value, Sex.FEMALE.value)
    id_birth = pc.strptime(pc.utf8_slice_codeunits(ids, 6, 14), format="%Y%m%d", unit="s",
                           error_is_null=True).cast(pa.date32())
    ids_distinct, heads_distinct = counted.result()
    _duplicates(result, ("id_number",), "The same ID number is already on row {other}.",
                ids_distinct)
    sex = t.column("sex")
    birth = t.column("birth_date")
    valid_id = _valid_id_mask(result)
    for i in np.flatnonzero(valid_id & pc.not_equal(sex, id_sex).fill_null(False).to_numpy()):
        result.add(int(i), "sex", "The sex does not match the ID number.")
    for i in np.flatnonzero(valid_id & pc.not_equal(birth, id_birth).fill_null(False).to_numpy()):
        result.add(int(i), "birth_date",
                   "The birth date does not match the ID number ({expected}).",
                   expected=str(id_birth[i].as_py()))
    known = pa.array(valid_id)
    t = t.set_column(t.schema.get_field_index("sex"), "sex", pc.coalesce(
        sex, pc.if_else(known, id_sex, pa.scalar(None, pa.string()))))
    t = t.set_column(t.schema.get_field_index("birth_date"), "birth_date", pc.coalesce(
        birth, pc.if_else(known, id_birth, pa.scalar(None, pa.date32()))))
    deceased = t.column("deceased_date")
    for i in np.flatnonzero(pc.less(deceased, t.column("birth_date")).fill_null(False)
                            .to_numpy()):
        result.add(int(i), "deceased_date",
                   "The date of death is before the birth date.")
    for i in np.flatnonzero(pc.greater(deceased, pa.scalar(today)).fill_null(False).to_numpy()):
        result.add(int(i), "deceased_date", "The date is in the future.")
    result.table = t
    _one_head_per_household(result, heads_distinct)


def _odd(ids: pa.Array) -> pa.Array:
    digit = pc.utf8_slice_codeunits(ids, 16, 17)
    return pc.is_in(digit, pa.array(["1", "3", "5", "7", "9"]))


def _valid_id_mask(result: Validated) -> np.ndarray:
    """Rows with an ID number that itself passed (so a mismatch is about the other field)."""
    header = result.headers.get("id_number", "id_number")
    format_reasons = set(ID_REASONS.values())
    bad_rows = {p.row for p in result.problems
                if p.column == header and p.reason in format_reasons}
    present = pc.is_valid(result.table.column("id_number")).to_numpy(zero_copy_only=False)
    if not bad_rows:
        return present
    return present & ~np.isin(result.rows, np.fromiter(bad_rows, dtype=np.int64))


def _heads_distinct(table: pa.Table) -> bool:
    """Whether no household has two heads in the file."""
    heads_only = table.filter(pc.equal(table.column("relation"),
                                       Relation.HEAD.value).fill_null(False))
    return _all_distinct(heads_only, ("household_number",))


def _one_head_per_household(result: Validated, distinct: bool) -> None:
    if distinct:
        return
    numbers = result.table.column("household_number").to_pylist()
    relations = result.table.column("relation").to_pylist()
    heads: dict[str, int] = {}
    for position, (number, relation) in enumerate(zip(numbers, relations, strict=True)):
        if relation != Relation.HEAD.value or number is None:
            continue
        if number in heads:
            result.add(position, "relation",
                       "Household {number} already has a head on row {other}.",
                       number=number, other=int(result.rows[heads[number]]))
        else:
            heads[number] = position


def _check_surveys(result: Validated, today: date) -> None:
    _duplicates(result, ("household_number", "year"),
                "The same household and year are already on row {other}.")
    years = result.table.column("year").to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(np.asarray(years, dtype=float) > today.year):
        result.add(int(i), "year", "The year is in the future.")


def _check_helpers(result: Validated, today: date) -> None:
    _duplicates(result, ("number",), "The same helper number is already on row {other}.")


RULES = {
    Kind.REGIONS: _check_regions,
    Kind.HOUSEHOLDS: _check_households,
    Kind.MEMBERS: _check_members,
    Kind.SURVEYS: _check_surveys,
    Kind.HELPERS: _check_helpers,
    **{Kind(name): rule for name, rule in FUND_RULES.items()},
}


def problems_by_row(problems: list[Problem]) -> dict[int, list[Problem]]:
    grouped: dict[int, list[Problem]] = defaultdict(list)
    for problem in problems:
        grouped[problem.row].append(problem)
    return grouped
