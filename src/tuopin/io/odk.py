"""Reading a phone survey's export (ODK Central, KoboToolbox) into survey and member rows.

The tables come from ``io.odk_sources``; here their columns are matched to tuopin's fields
by the last segment of their path (``income-wage_income`` in Central, ``income/wage_income``
in Kobo: groups are pages, not meaning), or by the names of a ``--map`` file; each
submission gets its identity; and the rows of the submissions that were not rejected in
review become the two files the survey and member importers check, with the row numbers of
the export's own tables (``io.odk_columns`` matches the columns).

Identity: Central's ``KEY`` is the submission's first instance id and stays when the
submission is edited (``meta-instanceID`` is the edit's). Kobo's ``_uuid`` is the edit's;
its ``meta/rootUuid`` (exported since 2025) is the first, and is used when present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tuopin.io.odk_columns import field_values, match_columns, select_multiple_fields
from tuopin.io.odk_mapping import Mapping, load_mapping, read_form
from tuopin.io.odk_sources import Source, open_export
from tuopin.io.raw import RawFile, file_error
from tuopin.io.schema import Kind

__all__ = ["Mapping", "OdkExport", "Submission", "load_mapping", "read_export"]

# Central's columns (lib/data/briefcase.js) and Kobo's (formpack + kpi's copy fields)
CENTRAL = {"id": "KEY", "time": "SubmissionDate", "submitter": "SubmitterName",
           "review": "ReviewState", "version": "FormVersion", "status": "Status"}
KOBO = {"id": "_uuid", "time": "_submission_time", "submitter": "_submitted_by",
        "review": "_validation_status", "version": "__version__", "index": "_index"}
REJECTED = {"central": {"rejected"},
            "kobo": {"validation_status_not_approved", "Not Approved"}}


@dataclass(frozen=True)
class Submission:
    """One submission of the export: who sent which edit of it, and its review."""

    instance_id: str  # Central KEY / Kobo root uuid (else _uuid): stable across edits
    current_id: str | None  # the edit's own id: Central meta-instanceID, Kobo _uuid
    form_version: str | None
    submitter: str | None
    submitted_at: str | None  # as exported (ISO 8601)
    rejected: bool
    row: int  # its row in the main table (header = 1)


@dataclass
class OdkExport:
    """An export read: its submissions, and the survey and member rows of those kept."""

    path: Path
    sha256: str
    format: str  # "central" | "kobo-xlsx" | "kobo-csv"
    form_id: str | None
    submissions: list[Submission]  # all, rejected included, in file order
    surveys: RawFile  # not rejected; headers are tuopin's survey field names
    members: RawFile | None  # not rejected; member field names and household_number
    survey_of_row: dict[int, str]  # surveys row number -> instance id
    member_of_row: dict[int, tuple[str, int]]  # members row -> (instance id, position)


def read_export(path: Path, *, form: Path | None = None, mapping: Path | None = None,
                max_rows: int | None = None,
                max_unpacked_bytes: int | None = None) -> OdkExport:
    """Read a Central ``.csv.zip`` or a Kobo XLSX / CSV; ValidationFailed names the file.

    Members are expected (every form tuopin writes has them) unless ``form`` shows a form
    without the members repeat.
    """
    names = load_mapping(mapping) if mapping is not None else Mapping()
    info = read_form(form) if form is not None else None
    repeat = names.repeat_name()
    source = open_export(path, form_id=info.form_id if info else None, repeat=repeat,
                         max_rows=max_rows, max_unpacked_bytes=max_unpacked_bytes)
    expects_members = info is None or repeat in info.repeats
    sep = "-" if source.format == "central" else "/"
    multiple = select_multiple_fields(names, info)
    main = match_columns(source.main, Kind.SURVEYS, sep, names, multiple, path.name)
    submissions = _submissions(source, path.name)
    values = field_values(source.main.raw, main, names)
    kept = [i for i, s in enumerate(submissions) if not s.rejected]
    surveys = _raw(source, main.found, values, kept, source.main.raw)
    survey_of_row = {submissions[i].row: submissions[i].instance_id for i in kept}
    members: RawFile | None = None
    member_of_row: dict[int, tuple[str, int]] = {}
    if source.repeat is not None:
        members, member_of_row = _members(source, submissions, values, names, multiple, sep,
                                          path.name)
    elif expects_members and kept:
        raise _no_members(source, path.name, repeat)
    form_id = source.form_id or (info.form_id if info else None)
    return OdkExport(path, source.sha256, source.format, form_id, submissions,
                     surveys, members, survey_of_row, member_of_row)


def _no_members(source: Source, shown: str, repeat: str) -> Exception:
    if source.format == "kobo-csv":
        return file_error("A KoboToolbox CSV export has no repeat groups, and the form of "
                          "{name} has its members in the repeat {repeat}: export it as XLSX "
                          "(or give a form without members with --form).",
                          name=shown, repeat=repeat)
    if source.format == "central" and shown.lower().endswith(".csv"):
        return file_error("{name} is the main table of an ODK Central export alone: export "
                          "all of it (.csv.zip) so that the members of the repeat {repeat} "
                          "come too.", name=shown, repeat=repeat)
    return file_error("The export {name} has no table of the repeat {repeat}, which holds "
                      "the members: export it again with its repeat tables (or map the "
                      "repeat's name with [repeats]).", name=shown, repeat=repeat)


def _submissions(source: Source, shown: str) -> list[Submission]:
    """Every row of the main table as a submission, with its identity checked."""
    raw, central = source.main.raw, source.format == "central"
    system = CENTRAL if central else KOBO
    positions = {h: i for i, h in reversed(list(enumerate(raw.headers)))}
    if system["id"] not in positions:
        raise file_error("The table {table} of {name} has no column {column}: it is not an "
                         "export of ODK Central or KoboToolbox.", table=source.main.name,
                         name=shown, column=system["id"])

    def column(header: str | None) -> list[str | None]:
        if header is None or header not in positions:
            return [None] * len(raw)
        return raw.table.column(positions[header]).to_pylist()

    def by_last(segment: str) -> str | None:
        return next((h for h in raw.headers if h.replace("-", "/").split("/")[-1] == segment),
                    None)

    ids, times, submitters, reviews, versions = (column(system[k]) for k in
                                                 ("id", "time", "submitter", "review",
                                                  "version"))
    status = column(system.get("status"))
    current = column(by_last("instanceID")) if central else ids
    roots = [None] * len(raw) if central else column(by_last("rootUuid"))
    rejected = REJECTED["central" if central else "kobo"]
    found: list[Submission] = []
    seen: set[str] = set()
    for i, row in enumerate(raw.rows.to_pylist()):
        root, own = roots[i], ids[i]
        instance = (root.strip().removeprefix("uuid:") if root else "") or (
            own.strip() if own else "")
        if status[i]:
            raise file_error("Submission {id} in {name} could not be read by ODK Central "
                             "({status}): export it with the form's passphrase.",
                             id=instance, name=shown, status=status[i])
        if not instance or instance in seen:
            raise file_error("Row {row} of {table} in {name} has no submission id, or one "
                             "that an earlier row has ({id}).", row=row,
                             table=source.main.name, name=shown, id=instance or "-")
        seen.add(instance)
        found.append(Submission(instance, current[i], versions[i], submitters[i], times[i],
                                (reviews[i] or "").strip() in rejected, row))
    return found


def _raw(source: Source, headers: list[str], values: dict[str, list[str | None]],
         kept: list[int], raw: RawFile) -> RawFile:
    """The kept rows of some columns as a file the importers read."""
    numbers = raw.rows.to_pylist()
    arrays = [pa.array([values[name][i] for i in kept], type=pa.string()) for name in headers]
    table = pa.table(arrays, names=[f"c{i}" for i in range(len(headers))])
    return RawFile(raw.path, list(headers), table,
                   pa.array([numbers[i] for i in kept], type=pa.int64()), raw.encoding,
                   source.sha256)


def _members(source: Source, submissions: list[Submission],
             survey_values: dict[str, list[str | None]], names: Mapping, multiple: set[str],
             sep: str, shown: str) -> tuple[RawFile, dict[int, tuple[str, int]]]:
    """The members of the kept submissions, with their household's number."""
    assert source.repeat is not None
    table = source.repeat
    columns = match_columns(table, Kind.MEMBERS, sep, names, multiple, shown)
    parent_of = _linker(source, submissions, shown)
    values = field_values(table.raw, columns, names)
    numbers = table.raw.rows.to_pylist()
    household = survey_values.get("household_number", [None] * len(submissions))
    kept: list[int] = []
    member_of_row: dict[int, tuple[str, int]] = {}
    counts: dict[int, int] = {}
    values["household_number"] = []
    for i, row in enumerate(numbers):
        parent = parent_of(i, row)
        counts[parent] = counts.get(parent, 0) + 1
        values["household_number"].append(household[parent])
        if not submissions[parent].rejected:
            kept.append(i)
            member_of_row[row] = (submissions[parent].instance_id, counts[parent])
    headers = ["household_number", *columns.found]
    return _raw(source, headers, values, kept, table.raw), member_of_row


def _linker(source: Source, submissions: list[Submission],
            shown: str) -> Callable[[int, int], int]:
    """For a repeat row (position, row number): the position of its submission."""
    assert source.repeat is not None
    main, repeat = source.main.raw, source.repeat.raw
    name = source.repeat.name

    def column(raw: RawFile, header: str) -> list[str | None] | None:
        return (raw.table.column(raw.headers.index(header)).to_pylist()
                if header in raw.headers else None)

    def orphan(row: int, parent: str | None) -> Exception:
        return file_error("Row {row} of {table} in {name} belongs to submission {parent}, "
                          "which is not in the export.", row=row, table=name, name=shown,
                          parent=parent or "-")

    if source.format == "central":
        keys = {s.instance_id: i for i, s in enumerate(submissions)}
        parents = column(repeat, "PARENT_KEY")
        if parents is None:
            raise file_error("The table {table} of {name} has no column PARENT_KEY.",
                             table=name, name=shown)

        def central(i: int, row: int) -> int:
            key = (parents[i] or "").strip()
            found = keys.get(key, keys.get(key.split("/", 1)[0]))  # a repeat in a repeat
            if found is None:
                raise orphan(row, key)
            return found
        return central
    indexes, uuids = column(main, "_index"), column(main, "_uuid") or []
    by_index = {v.strip(): i for i, v in enumerate(indexes or []) if v}
    by_uuid = {v.strip(): i for i, v in enumerate(uuids) if v}
    parent_index = column(repeat, "_parent_index")
    parent_uuid = column(repeat, "_submission__uuid")
    if parent_uuid is None and (parent_index is None or indexes is None):
        raise file_error("The sheet {table} of {name} has no _parent_index (or no _index "
                         "on the first sheet) linking it to its submissions.", table=name,
                         name=shown)

    def kobo(i: int, row: int) -> int:
        by = (by_index.get((parent_index[i] or "").strip()) if parent_index and indexes
              else None)
        uuid = (parent_uuid[i] or "").strip() if parent_uuid else None
        if by is None:
            by = by_uuid.get(uuid) if uuid else None
        elif uuid and (uuids[by] or "").strip() != uuid:
            raise file_error("Row {row} of {table} in {name}: its _parent_index and its "
                             "_submission__uuid name different submissions.", row=row,
                             table=name, name=shown)
        if by is None:
            raise orphan(row, uuid or (parent_index[i] if parent_index else None))
        return by
    return kobo

