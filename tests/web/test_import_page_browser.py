"""In a real browser: a cadre uploads a households file with a bad row, reads the report,
uploads the corrected file and confirms it; the upload's page follows a check that runs in
the background without a reload. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from factories import OTHER_VILLAGE, VILLAGE, write_csv
from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)
from web.test_import_page import Inline, Recording, data_dir, running  # noqa: F401

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

NEW = f"{VILLAGE}0009"
ROWS: list[dict[str, object]] = [
    {"number": NEW, "village_code": VILLAGE, "status": "ordinary"},
    {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE, "status": "poor"}]


@pytest.fixture
def queue() -> Recording:
    """Background work kept until the test runs it (``queue.run()``)."""
    return Recording()


@pytest.fixture
def app(web_url: str, data_dir: Path,  # noqa: F811
        request: pytest.FixtureRequest) -> Iterator[FastAPI]:
    """The app with a data folder of its own; the background inline, or the test's queue."""
    background = request.getfixturevalue("queue") if "queue" in request.fixturenames \
        else Inline()
    with running(web_url, data_dir, background) as app:
        yield app


def choose(tab: Page, file: Path) -> None:
    tab.select_option("#kind", "households")
    tab.set_input_files("#file", str(file))


def test_a_cadre_reads_the_report_of_a_bad_file_then_imports_the_corrected_one(
        page: Page, tmp_path: Path) -> None:  # noqa: F811
    bad = write_csv(tmp_path / "农户.csv", ROWS)
    log_in(page, "village-cadre")
    page.click("nav a[href='/import']")
    choose(page, bad)
    shot(page, "import-form")
    page.click("#check")

    expect(page).to_have_url(re.compile(r"/import/[0-9a-f]{32}$"))
    expect(page.locator("#problems tbody tr")).to_have_count(1)
    expect(page.locator("#problems tbody td").first).to_have_text("3")
    expect(page.locator("#confirm")).to_have_count(0)
    expect(page.locator("#confirm-skip")).to_be_visible()
    expect(page.locator("#problems-csv")).to_be_visible()
    shot(page, "import-report")

    page.click("#again")
    good = write_csv(tmp_path / "农户-改.csv", ROWS[:1])
    choose(page, good)
    page.click("#check")
    page.click("#confirm")
    expect(page.locator("#upload-status")).to_have_attribute("data-state", "imported")
    expect(page.locator("#count-inserted")).to_have_text("1")
    shot(page, "import-done")


def test_the_page_of_an_upload_follows_its_check_and_its_import_without_a_reload(
        page: Page, tmp_path: Path, queue: Recording) -> None:  # noqa: F811
    bad = write_csv(tmp_path / "农户.csv", ROWS)
    log_in(page, "village-cadre")
    page.goto("/import")
    choose(page, bad)
    page.click("#check")

    status = page.locator("#upload-status")
    expect(status).to_have_attribute("data-state", "received")
    expect(page.locator("#progress")).to_be_visible()
    shot(page, "import-waiting")
    url = page.url
    assert queue.run() == 1
    # htmx asks for the status every second and swaps the report in
    expect(status).to_have_attribute("data-state", "checked")
    expect(page.locator("#problems tbody tr")).to_have_count(1)
    assert page.url == url

    page.click("#confirm-skip")  # a form the swapped-in fragment brought, with its token
    expect(status).to_have_attribute("data-state", "importing")
    assert queue.run() == 1
    expect(status).to_have_attribute("data-state", "imported")
    expect(page.locator("#count-inserted")).to_have_text("1")
    expect(page.locator("#count-rejected")).to_have_text("1")
