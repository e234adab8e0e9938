"""Exports of ODK Central and KoboToolbox, written from plain rows as the real tools write them.

A main row is a dict of field name -> value (None: unanswered) plus optional system keys:

- ``_key``: the submission's first instance id (default ``uuid:`` + a fixed uuid per row);
- ``_instance_id``: this edit's id (default: ``_key``; differs once edited);
- ``_review``: ``"rejected"``, ``"approved"``, ``"hasIssues"`` or None;
- ``_submitter``, ``_submitted_at``, ``_version``.

A repeat row is a dict of field name -> value plus ``_parent``: the position of its
submission in ``main_rows``. ``groups`` puts fields in groups (field -> "page" or
"page/sub"); ``select_multiples`` names select_multiple fields and their choices.

Central (lib/data/briefcase.js of getodk/central-backend): ``<form>.csv`` with
SubmissionDate first and the system columns last, ``<form>-<repeat>.csv`` with PARENT_KEY and
KEY last, group paths joined with ``-``, choices split into ``field/choice`` columns after the
field's own. Kobo (formpack's Export with kpi's options): the first sheet named after the
form's title with kpi's copy fields and ``_index`` last, one sheet per repeat with
``_index, _parent_table_name, _parent_index`` and ``_submission_<copy field>``; CSV
``;``-separated with every value quoted.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import openpyxl

Row = dict[str, Any]
CENTRAL_TAIL = ("KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
                "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
                "FormVersion")
KOBO_COPY = ("_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status",
             "_submitted_by", "__version__", "_tags")
KOBO_REVIEW = {"rejected": "validation_status_not_approved",
               "approved": "validation_status_approved",
               "hasIssues": "validation_status_on_hold"}


def key_of(position: int, form_id: str = "form") -> str:
    """The default instance id of the submission at ``position``."""
    return f"uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{form_id}/{position}')}"


def _fields(rows: Iterable[Row]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update((k, None) for k in row if not k.startswith("_"))
    return list(names)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


Column = tuple[str, Callable[[Row], Any]]


def _field_columns(names: list[str], *, groups: dict[str, str], sep: str,
                   select_multiples: dict[str, list[str]], split: bool,
                   summary: bool = True, empty_split: str = "0") -> list[Column]:
    """The data columns of ``names``: path headers, split select_multiple choices."""
    columns: list[Column] = []
    for name in names:
        group = groups.get(name)
        header = sep.join([*group.split("/"), name]) if group and sep else name
        if summary or name not in select_multiples or not split:
            columns.append((header, _getter(name)))
        if split and name in select_multiples:
            for choice in select_multiples[name]:
                def cell(row: Row, n: str = name, c: str = choice) -> str:
                    value = row.get(n)
                    if value is None:
                        return empty_split
                    return "1" if c in str(value).split() else "0"
                columns.append((f"{header}/{choice}", cell))
    return columns


def central_zip(
    path: Path, form_id: str, main_rows: list[Row], repeats: dict[str, list[Row]] | None = None,
    *, split_select_multiples: bool = False, groups: dict[str, str] | None = None,
    select_multiples: dict[str, list[str]] | None = None, group_paths: bool = True,
    bom: bool = False, extra: dict[str, bytes] | None = None,
) -> Path:
    """Write ODK Central's ``.csv.zip`` of ``main_rows`` and their repeats to ``path``."""
    groups, choices = groups or {}, select_multiples or {}
    sep = "-" if group_paths else ""
    keys = [row.get("_key") or key_of(i, form_id) for i, row in enumerate(main_rows)]
    columns = _field_columns(_fields(main_rows), groups=groups, sep=sep,
                             select_multiples=choices, split=split_select_multiples)
    header = ["SubmissionDate", *(h for h, _ in columns),
              "meta-instanceID" if group_paths else "instanceID", *CENTRAL_TAIL]
    body = []
    for i, row in enumerate(main_rows):
        body.append([
            row.get("_submitted_at", f"2019-11-{1 + i % 28:02d}T08:00:00.000Z"),
            *(get(row) for _, get in columns), row.get("_instance_id", keys[i]), keys[i],
            "5", row.get("_submitter", "李四"), 0, 0, "", row.get("_review") or "", "",
            int(row.get("_instance_id", keys[i]) != keys[i]), row.get("_version", "2019")])
    files = {f"{form_id}.csv": _csv([header, *body], delimiter=",", bom=bom)}
    for repeat, rows in (repeats or {}).items():
        path_in_form = "/".join([*groups.get(repeat, "").split("/"), repeat]).strip("/")
        columns = _field_columns(_fields(rows), groups={}, sep=sep,
                                 select_multiples=choices, split=split_select_multiples)
        counts: dict[int, int] = {}
        table: list[list[Any]] = [[*(h for h, _ in columns), "PARENT_KEY", "KEY"]]
        for row in rows:
            parent = row["_parent"]
            counts[parent] = counts.get(parent, 0) + 1
            table.append([*(get(row) for _, get in columns), keys[parent],
                          f"{keys[parent]}/{path_in_form}[{counts[parent]}]"])
        files[f"{form_id}-{repeat}.csv"] = _csv(table, delimiter=",", bom=bom)
    files.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _getter(name: str) -> Callable[[Row], Any]:
    return lambda row: row.get(name)


def _csv(rows: list[list[Any]], *, delimiter: str, bom: bool, quote_all: bool = False,
         terminator: str = "\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=terminator,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows([[_text(v) for v in row] for row in rows])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def _kobo_main(title: str, main_rows: list[Row], *, groups: dict[str, str],
               group_headers: bool, select_multiples: dict[str, list[str]],
               multiple_select: str, root_uuid: bool) -> list[list[Any]]:
    columns = _field_columns(_fields(main_rows), groups=groups,
                             sep="/" if group_headers else "",
                             select_multiples=select_multiples,
                             split=multiple_select != "summary",
                             summary=multiple_select != "details", empty_split="")
    header: list[Any] = ["start", "end", *(h for h, _ in columns), *KOBO_COPY, "_index"]
    header += ["meta/rootUuid"] if root_uuid else []
    table = [header]
    for i, row in enumerate(main_rows):
        key: str = row.get("_key") or key_of(i, title)
        table.append([
            "2019-11-20T08:00:00.000+08:00", "2019-11-20T08:20:00.000+08:00",
            *(get(row) for _, get in columns), 1000 + i,
            str(row.get("_instance_id", key)).removeprefix("uuid:"),
            row.get("_submitted_at", f"2019-11-{1 + i % 28:02d}T00:20:00"),
            KOBO_REVIEW.get(row.get("_review") or "", ""), "", "submitted_via_web",
            row.get("_submitter", "lisi"), row.get("_version", "vKx2019"), "", i + 1,
            *([key] if root_uuid else [])])
    return table


def _kobo_repeat(title: str, repeat: str, rows: list[Row], main: list[list[Any]],
                 select_multiples: dict[str, list[str]],
                 multiple_select: str) -> list[list[Any]]:
    columns = _field_columns(_fields(rows), groups={}, sep="", select_multiples=select_multiples,
                             split=multiple_select != "summary",
                             summary=multiple_select != "details", empty_split="")
    copy = {name: main[0].index(name) for name in KOBO_COPY}
    table: list[list[Any]] = [[*(h for h, _ in columns), "_index", "_parent_table_name",
                               "_parent_index", *(f"_submission_{n}" for n in KOBO_COPY)]]
    for i, row in enumerate(rows):
        parent = main[1 + row["_parent"]]
        table.append([*(get(row) for _, get in columns), i + 1, title, row["_parent"] + 1,
                      *(parent[at] for at in copy.values())])
    return table


def kobo_xlsx(
    path: Path, title: str, main_rows: list[Row], repeats: dict[str, list[Row]] | None = None,
    *, groups: dict[str, str] | None = None, group_headers: bool = False,
    select_multiples: dict[str, list[str]] | None = None, multiple_select: str = "both",
    root_uuid: bool = True, headers: dict[str, str] | None = None,
) -> Path:
    """Write KoboToolbox's XLSX export ("XML values and headers") to ``path``.

    ``headers`` replaces headers (to write a labels export); a repeat without rows gets no
    sheet, as in Kobo.
    """
    choices = select_multiples or {}
    main = _kobo_main(title, main_rows, groups=groups or {}, group_headers=group_headers,
                      select_multiples=choices, multiple_select=multiple_select,
                      root_uuid=root_uuid)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for table, ws in [(main, sheet)] + [
            (_kobo_repeat(title, name, rows, main, choices, multiple_select),
             book.create_sheet(name[:31])) for name, rows in (repeats or {}).items() if rows]:
        table[0] = [(headers or {}).get(h, h) for h in table[0]]
        for row in table:
            ws.append([None if v is None or v == "" else v for v in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, as Kobo writes answers, not a formula
    book.save(path)
    return path


def kobo_csv(
    path: Path, title: str, main_rows: list[Row], *, groups: dict[str, str] | None = None,
    group_headers: bool = False, select_multiples: dict[str, list[str]] | None = None,
    multiple_select: str = "both", root_uuid: bool = True, bom: bool = False,
) -> Path:
    """Write KoboToolbox's CSV export (the first sheet only, ``;``, all quoted) to ``path``."""
    main = _kobo_main(title, main_rows, groups=groups or {}, group_headers=group_headers,
                      select_multiples=select_multiples or {},
                      multiple_select=multiple_select, root_uuid=root_uuid)
    path.write_bytes(_csv(main, delimiter=";", bom=bom, quote_all=True, terminator="\r\n"))
    return path
