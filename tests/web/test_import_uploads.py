"""Uploads in the background: the request only stores the file; a task reads it once, within
limits, and keeps what it found; the files go once imported, cancelled or expired.

Hostile files (a sheet cut short, a billion laughs, cells that are formulas to a
spreadsheet) end in a state with a clear message, never a 500, and nothing they hold is run
or expanded.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from factories import VILLAGE, user
from tuopin.domain.enums import Role
from tuopin.io.raw import RawFile
from tuopin.io.schema import Kind
from tuopin.services.imports import files, uploads
from tuopin.services.imports.uploads import UploadLimits
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import ImportUploadRecord
from web.personas import csrf_of, log_in
from web.test_import_page import (
    NEW,
    Inline,
    Recording,
    cancel,
    checked,
    confirm,
    csv_of,
    households_in,
    id_of,
    in_english,
    new_household,
    page_of,
    problems_on,
    running,
    state_of,
    upload,
    uploads_in,
    xlsx_of,
)

Client = Callable[[str | None], TestClient]
Start = Callable[..., Client]
POLLS = 'hx-trigger="every 1s"'
SHEET = "xl/worksheets/sheet1.xml"
FORMULAS = ['=HYPERLINK("http://evil.example/","click")', "+1+1", "-2+3", "@SUM(1,2)"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def start(web_url: str, data_dir: Path) -> Iterator[Start]:
    """``start(background=None, **settings)``: an app of those settings (the background
    inline unless given); returns a ``client_for(persona)`` of it, logged in, in English."""
    with ExitStack() as stack:
        def make(background: Executor | None = None, **settings: Any) -> Client:
            app = stack.enter_context(running(web_url, data_dir, background or Inline(),
                                              **settings))

            def client_for(persona: str | None) -> TestClient:
                client = TestClient(app, follow_redirects=False)
                stack.callback(client.close)
                return in_english(log_in(client, persona)) if persona else client
            return client_for
        yield make


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the uploads' tasks read (and fails if the CLI's path reads)."""
    calls: list[str] = []
    real = uploads.read_file

    def counted(path: Path, **options: Any) -> RawFile:
        calls.append(str(options.get("name") or path.name))
        return real(path, **options)

    def forbidden(*args: object, **kwargs: object) -> RawFile:
        raise AssertionError("the web read an upload through import_file")

    monkeypatch.setattr(uploads, "read_file", counted)
    monkeypatch.setattr(files, "read_file", forbidden)
    return calls


def change_record(web_url: str, upload_id: str, **values: object) -> None:
    engine = make_engine(web_url)
    try:
        with session_factory(engine)() as db, db.begin():
            db.execute(update(ImportUploadRecord).where(ImportUploadRecord.id == upload_id)
                       .values(**values))
    finally:
        engine.dispose()


def record_of(web_url: str, upload_id: str) -> ImportUploadRecord | None:
    engine = make_engine(web_url)
    try:
        with session_factory(engine)() as db:
            found = db.get(ImportUploadRecord, upload_id)
            if found is not None:
                db.expunge(found)
            return found
    finally:
        engine.dispose()


def error_of(page: str) -> str:
    """The message of a refused or failed upload (the page's role=alert paragraph)."""
    start = page.find('id="refused">')
    assert start >= 0, "the page shows no error"
    return page[start + len('id="refused">'):page.index("</p>", start)]


def rows_of(n: int, start: int = 10) -> list[dict[str, object]]:
    return [new_household(number=f"{VILLAGE}{i:04d}") for i in range(start, start + n)]


def with_part(workbook: bytes, part: str, content: bytes) -> bytes:
    """``workbook`` with ``part`` replaced by ``content``: still a valid ZIP archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as old, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for entry in old.infolist():
            new.writestr(entry.filename, content if entry.filename == part
                         else old.read(entry.filename))
    return out.getvalue()


def part_of(workbook: bytes, part: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return archive.read(part)


# -- the request stores; the background reads, once -----------------------------------------

def test_the_upload_request_only_stores_the_file_and_its_page_polls_until_checked(
    start: Start, web_url: str, data_dir: Path, tmp_path: Path, reads: list[str],
) -> None:
    queue = Recording()
    client = start(queue)("village_cadre")
    response = upload(client, csv_of(tmp_path, [new_household()]))
    upload_id = id_of(response)
    assert reads == []  # the request did not parse the file
    assert len(queue.queued) == 1
    assert [p.name for p in (data_dir / "uploads" / upload_id).iterdir()] == ["received.csv"]
    record = record_of(web_url, upload_id)
    assert record is not None and record.state == "received" and record.filename == (
        "households.csv")

    waiting = page_of(client, upload_id)
    assert state_of(waiting) == "received"
    assert POLLS in waiting and 'id="progress"' in waiting
    assert 'id="confirm"' not in waiting
    fragment = client.get(f"/import/{upload_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<div id=\"upload-status\"")
    assert "<html" not in fragment.text and POLLS in fragment.text

    assert queue.run() == 1
    assert reads == ["households.csv"]
    done = page_of(client, upload_id)
    assert state_of(done) == "checked" and POLLS not in done and 'id="confirm"' in done
    # the bytes as received are gone once read; what the check found is kept
    assert not list((data_dir / "uploads" / upload_id).glob("received.*"))
    assert households_in(web_url, NEW) == 0

    # the import is done in the background too, and its page polls meanwhile
    assert confirm(client, upload_id).status_code == 303
    importing = page_of(client, upload_id)
    assert state_of(importing) == "importing" and POLLS in importing
    assert households_in(web_url, NEW) == 0
    assert queue.run() == 1
    assert state_of(page_of(client, upload_id)) == "imported"
    assert households_in(web_url, NEW) == 1
    assert reads == ["households.csv"]


def test_a_file_is_read_once_for_its_check_its_problems_and_its_import(
    start: Start, web_url: str, tmp_path: Path, reads: list[str],
) -> None:
    client = start()("village_cadre")
    rows = [new_household(), new_household(number=f"{VILLAGE}0010", status="rich")]
    upload_id, page = checked(client, csv_of(tmp_path, rows))
    assert len(problems_on(page)) == 1
    for fmt in ("xlsx", "csv"):
        assert client.get(f"/import/{upload_id}/problems.{fmt}").status_code == 200
    page_of(client, upload_id)
    assert confirm(client, upload_id, skip_invalid="true").status_code == 303
    done = page_of(client, upload_id)
    assert state_of(done) == "imported" and 'id="count-inserted">1<' in done
    assert households_in(web_url, NEW) == 1
    assert len(reads) == 1


@pytest.mark.parametrize("fields", [{}, {"file": "households.csv"}],
                         ids=["no file", "a text field named file"])
def test_a_request_without_a_file_is_refused_and_stores_nothing(
    start: Start, data_dir: Path, fields: dict[str, str],
) -> None:
    client = start()("village_cadre")
    response = client.post("/import", data={"kind": "households", **fields,
                                            "csrf_token": csrf_of(client)})
    assert response.status_code == 400
    assert uploads_in(data_dir) == []


# -- limits -------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_with_more_rows_than_the_setting_fails_naming_the_limit(
    start: Start, web_url: str, tmp_path: Path, fmt: str,
) -> None:
    client_for = start(upload_max_rows=5)
    client = client_for("village_cadre")

    def sent(rows: list[dict[str, object]]) -> tuple[str, str]:
        if fmt == "csv":
            return checked(client, csv_of(tmp_path, rows))
        return checked(client, xlsx_of(rows), name="households.xlsx")

    _, page = sent(rows_of(6))
    assert state_of(page) == "failed"
    assert "could not be read" in error_of(page)
    assert [reason for *_, reason in problems_on(page)] == [
        f"The file households.{fmt} has more than 5 rows below its header, the most that can "
        "be imported here. Split the file, or import it with the command line `tuopin import`."]
    assert 'id="confirm"' not in page
    assert households_in(web_url, *(str(r["number"]) for r in rows_of(6))) == 0
    _, five = sent(rows_of(5))
    assert state_of(five) == "checked" and 'id="count-inserted">5<' in five


def test_an_xlsx_file_that_unpacks_beyond_the_setting_fails_naming_the_limit(
    start: Start,
) -> None:
    client = start(upload_max_unpacked_bytes=100_000)("county_officer")
    rows = [{**new_household(number=f"{VILLAGE}{i:04d}"), "address": f"{i}组" + "路" * 20_000}
            for i in range(10, 16)]
    _, page = checked(client, xlsx_of(rows), name="big.xlsx")
    assert state_of(page) == "failed"
    assert "big.xlsx unpacks to" in page and "100,000 bytes" in page
    assert 'id="confirm"' not in page
    # the same file is accepted under the default limit
    _, accepted = checked(start()("county_officer"), xlsx_of(rows), name="big.xlsx")
    assert state_of(accepted) == "checked"


# -- files removed ------------------------------------------------------------------------------

def test_the_files_of_an_upload_are_removed_once_it_is_imported(
    start: Start, tmp_path: Path, data_dir: Path,
) -> None:
    client = start()("village_cadre")
    upload_id, _ = checked(client, csv_of(tmp_path, [new_household()]))
    assert uploads_in(data_dir) == [upload_id]
    confirm(client, upload_id)
    assert state_of(page_of(client, upload_id)) == "imported"
    assert uploads_in(data_dir) == []


def test_a_cancelled_upload_loses_its_files_and_cannot_be_confirmed(
    start: Start, web_url: str, tmp_path: Path, data_dir: Path,
) -> None:
    client = start()("village_cadre")
    upload_id, page = checked(client, csv_of(tmp_path, [new_household()]))
    assert 'id="cancel"' in page
    response = cancel(client, upload_id)
    assert response.status_code == 303 and response.headers["location"] == "/import"
    assert "The upload was cancelled and its file removed." in client.get("/import").text
    assert uploads_in(data_dir) == []
    assert state_of(page_of(client, upload_id)) == "cancelled"
    assert confirm(client, upload_id).status_code == 400
    assert state_of(page_of(client, upload_id)) == "cancelled"
    assert households_in(web_url, NEW) == 0


def test_an_upload_being_checked_cannot_be_cancelled(
    start: Start, web_url: str, tmp_path: Path, data_dir: Path,
) -> None:
    client = start(Recording())("village_cadre")
    upload_id = id_of(upload(client, csv_of(tmp_path, [new_household()])))
    change_record(web_url, upload_id, state="checking", updated_at=time.time())
    assert cancel(client, upload_id).status_code == 400
    assert uploads_in(data_dir) == [upload_id]


def test_a_cancelled_upload_stays_cancelled_when_its_queued_check_runs(
    start: Start, web_url: str, tmp_path: Path, data_dir: Path, reads: list[str],
) -> None:
    queue = Recording()
    client = start(queue)("village_cadre")
    upload_id = id_of(upload(client, csv_of(tmp_path, [new_household()])))
    assert cancel(client, upload_id).status_code == 303
    queue.run()
    assert reads == []
    assert state_of(page_of(client, upload_id)) == "cancelled"
    assert uploads_in(data_dir) == []


def test_an_upload_past_its_retention_is_removed_at_the_next_upload(
    start: Start, web_url: str, tmp_path: Path, data_dir: Path,
) -> None:
    client_for = start(upload_retention_seconds=60)
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    old, _ = checked(cadre, csv_of(tmp_path, [new_household()]))
    recent, _ = checked(officer, csv_of(tmp_path, [new_household()]))
    record = record_of(web_url, old)
    assert record is not None and record.expires_at == record.created_at + 60

    def age(upload_id: str, seconds: float) -> None:
        """As if ``upload_id`` had been received ``seconds`` earlier (no clock to turn)."""
        found = record_of(web_url, upload_id)
        assert found is not None
        change_record(web_url, upload_id, created_at=found.created_at - seconds,
                      updated_at=found.updated_at - seconds,
                      expires_at=found.expires_at - seconds)

    age(old, 61)  # past the 60 s kept
    age(recent, 30)  # not yet
    assert sorted(uploads_in(data_dir)) == sorted([old, recent])
    latest, _ = checked(cadre, csv_of(tmp_path, [new_household()]))
    assert sorted(uploads_in(data_dir)) == sorted([recent, latest])
    assert record_of(web_url, old) is None
    assert cadre.get(f"/import/{old}").status_code == 404
    assert state_of(page_of(officer, recent)) == "checked"


def test_receiving_with_a_clock_removes_the_uploads_that_expired_meanwhile(
    web_url: str, data_dir: Path,
) -> None:
    cadre = user(Role.VILLAGE_CADRE, VILLAGE, username="village-cadre")
    limits = UploadLimits(retention=60)
    engine = make_engine(web_url)

    def receive_at(now: float) -> str:
        with session_factory(engine)() as db, db.begin():
            return uploads.receive(db, principal=cadre, kind=Kind.HOUSEHOLDS,
                                   filename="households.csv",
                                   stream=io.BytesIO(b"number\n1\n"), data_dir=data_dir,
                                   limits=limits, clock=lambda: now)

    try:
        first = receive_at(1_000.0)
        second = receive_at(1_059.0)  # the first is kept 60 s
        assert sorted(uploads_in(data_dir)) == sorted([first, second])
        third = receive_at(1_061.0)
        assert sorted(uploads_in(data_dir)) == sorted([second, third])
        assert record_of(web_url, first) is None
    finally:
        engine.dispose()


# -- a task that died ---------------------------------------------------------------------------

def test_a_check_that_made_no_progress_for_long_shows_as_interrupted(
    start: Start, web_url: str, tmp_path: Path,
) -> None:
    queue = Recording()
    client = start(queue)("village_cadre")
    upload_id = id_of(upload(client, csv_of(tmp_path, [new_household()])))
    change_record(web_url, upload_id, state="checking", stage="validate", done=2,
                  updated_at=time.time() - 3600)
    page = page_of(client, upload_id)
    assert state_of(page) == "failed"
    assert "interrupted" in error_of(page)
    assert POLLS not in page and 'id="confirm"' not in page
    assert confirm(client, upload_id).status_code == 400
    # one that moved a moment ago is still followed
    fresh = id_of(upload(client, csv_of(tmp_path, [new_household()])))
    change_record(web_url, fresh, state="checking", updated_at=time.time())
    assert POLLS in page_of(client, fresh)


# -- hostile workbooks and cells ----------------------------------------------------------------

def test_a_workbook_whose_sheet_is_cut_short_fails_with_a_clear_message(
    start: Start, web_url: str,
) -> None:
    client = start()("county_officer")
    workbook = xlsx_of(rows_of(40))
    sheet = part_of(workbook, SHEET)
    cut = with_part(workbook, SHEET, sheet[: len(sheet) // 2])
    response = upload(client, cut, name="cut.xlsx")
    upload_id = id_of(response)
    page = page_of(client, upload_id)
    assert state_of(page) == "failed"
    assert "could not be read" in error_of(page)
    assert "The workbook cut.xlsx is damaged near row" in page
    assert "unexpected error" not in page
    assert households_in(web_url, *(str(r["number"]) for r in rows_of(40))) == 0


def test_a_billion_laughs_workbook_is_refused_and_never_expanded(
    start: Start, web_url: str,
) -> None:
    client = start()("county_officer")
    workbook = xlsx_of([new_household()])
    levels = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 7))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">{levels}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>number</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>village_code</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>status</t></is></c></row>'
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{NEW}</t></is></c>'
        f'<c r="B2" t="inlineStr"><is><t>{VILLAGE}</t></is></c>'
        '<c r="C2" t="inlineStr"><is><t>&lol6;</t></is></c></row>'
        "</sheetData></worksheet>").encode()
    upload_id = id_of(upload(client, with_part(workbook, SHEET, sheet), name="laughs.xlsx"))
    page = page_of(client, upload_id)
    assert state_of(page) == "failed"
    assert "declares XML entities" in page
    assert "lollol" not in page
    for fmt in ("csv", "xlsx"):
        report = client.get(f"/import/{upload_id}/problems.{fmt}")
        assert report.status_code == 200 and b"lollol" not in report.content
    assert households_in(web_url, NEW) == 0


def test_cells_that_are_formulas_to_a_spreadsheet_are_neutralised_in_the_problem_reports(
    start: Start, tmp_path: Path,
) -> None:
    client = start()("village_cadre")
    rows = [new_household(number=f"{VILLAGE}{10 + i:04d}", status=text)
            for i, text in enumerate(FORMULAS)]
    upload_id, page = checked(client, csv_of(tmp_path, rows))
    assert sorted(value for _, column, value, _ in problems_on(page)
                  if column == "status") == sorted(
        t.replace('"', "&#34;") for t in FORMULAS)

    text = client.get(f"/import/{upload_id}/problems.csv").content.decode("utf-8-sig")
    cells = list(csv.reader(io.StringIO(text)))
    assert cells[0] == ["row", "column", "value", "reason"]
    assert sorted(row[2] for row in cells[1:]) == sorted(f"'{t}" for t in FORMULAS)
    assert all(cell[:1] not in "=+-@\t\r" or cell == "" for row in cells for cell in row)

    book = load_workbook(io.BytesIO(client.get(f"/import/{upload_id}/problems.xlsx").content))
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    values = [row[header.index("value")] for row in sheet.iter_rows(min_row=2)]
    assert sorted(str(c.value) for c in values) == sorted(FORMULAS)  # kept exactly
    assert all(c.data_type == "s" and c.quotePrefix for c in values)
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
