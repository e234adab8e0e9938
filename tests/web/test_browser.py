"""In a real browser (Debian's chromium, driven by Playwright): log in, search, open a
household, reveal a number, see the chart, switch language, log out. Screenshots go to
test-artifacts/ so a person can look at what tuopin shows."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from factories import operator
from tuopin.i18n import gettext
from tuopin.services.registry import households
from web.personas import MINE, PASSWORD, PHONE, TODAY_

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"

if not CHROMIUM.exists():
    pytest.skip("needs /usr/bin/chromium (make browser-deps installs it)",
                allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread of this process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []  # no script error, no CSP violation


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#status-chart .main-svg").first).to_be_visible()


def test_a_cadre_finds_a_household_reveals_a_number_switches_language_and_logs_out(
        page: Page) -> None:
    log_in(page, "village-cadre")
    shot(page, "home")
    page.click("nav a[href='/households']")
    # htmx is a deferred script: it listens once the page's DOM is loaded, not at the click
    page.wait_for_load_state("domcontentloaded")
    page.fill("#q", "户主0")  # htmx searches as the cadre types
    result = page.locator(f"#results a[href='/households/{MINE[0]}']")
    expect(result).to_be_visible()
    shot(page, "search")
    result.click()
    expect(page.locator("h1")).to_contain_text(MINE[0])
    expect(page.locator("#household")).to_contain_text("138****5678")
    page.locator("#household .reveal").first.click()  # the phone: an audited reveal
    expect(page.locator("#household .revealed")).to_have_text(PHONE)
    shot(page, "household-zh")
    page.click("#lang-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#assessment h2")).to_have_text("Latest assessment")
    shot(page, "household-en")
    page.click("#logout")
    expect(page).to_have_url("/login")
    page.goto(f"/households/{MINE[0]}")
    expect(page).to_have_url(f"/login?next=/households/{MINE[0]}")


def test_the_edit_form_works_on_a_phone(browser: Browser, server: str) -> None:
    context = browser.new_context(base_url=server, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, "village-cadre")
    page.goto(f"/households/{MINE[0]}/edit")
    page.fill("#f-address", "二组8号")
    page.fill("#f-phone", "12")
    page.click("#save")
    expect(page.locator("#error-phone")).to_have_text(gettext("Not a phone number.", "zh"))
    expect(page.locator("#f-address")).to_have_value("二组8号")  # what was typed stays
    shot(page, "edit-error-phone")
    page.fill("#f-phone", "")  # empty: the number on file is kept
    page.click("#save")
    expect(page.locator(".flash")).to_have_text(gettext("Saved.", "zh"))
    expect(page.locator("#household")).to_contain_text("二组8号")
    shot(page, "household-phone")
    context.close()


def test_a_cadre_reveals_the_history_of_a_household_in_its_panel(
        page: Page, app: FastAPI) -> None:
    new_phone = "13600001234"
    with app.state.web.sessions() as db, db.begin():
        households.edit_household(db, principal=operator("t"), number=MINE[0],
                                  expected_version=1, changes={"phone": new_phone},
                                  today=TODAY_)
    log_in(page, "village-cadre")
    page.goto(f"/households/{MINE[0]}")
    panel = page.locator("#history-panel")  # loaded into the page by htmx
    expect(panel).to_contain_text("136****1234")
    expect(panel).not_to_contain_text(new_phone)
    panel.locator("#history-reveal").click()  # an audited reveal, answered by the panel
    expect(page.locator("#history-panel")).to_contain_text(f"{PHONE} → {new_phone}")
    expect(page.locator("#history-reveal")).to_have_count(0)
    shot(page, "history-revealed")
