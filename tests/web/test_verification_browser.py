"""In a real browser on a phone-sized screen (390 px wide): the verifier works through a
village of a released plan household by household, then closes the plan; the county officer
then finds the rates with their 95 % intervals and verdicts on the county page, and the exit
check taking them from the plan it names. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from factories import VILLAGE
from web.test_browser import browser, log_in, server, shot  # noqa: F401  (fixtures)
from web.test_verification_pages import (  # noqa: F401  (fixtures)
    OPEN,
    app,
    truth_of,
    web_url,
    world,
    world_template,
)

pytestmark = pytest.mark.browser

from playwright.sync_api import Browser, Page, ViewportSize, expect  # noqa: E402

PHONE: ViewportSize = {"width": 390, "height": 844}


THUMB_TARGET = """() => {
    const box = document.querySelector("label.choice:has(#f-visited-1) span");
    return box !== null && box.getBoundingClientRect().height >= 44;
}"""


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(base_url=server, locale="zh-CN", viewport=PHONE,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []  # no script error, no CSP violation


def fits(page: Page) -> None:
    """Nothing wider than the phone: no sideways scrolling (measured once the page's
    stylesheets have loaded: under load they may apply after the content is visible)."""
    page.wait_for_load_state("load")
    page.wait_for_function(f"document.documentElement.scrollWidth <= {PHONE['width']}",
                           timeout=10_000)


def choose(page: Page, name: str, value: str) -> None:
    """Tap a choice (a radio drawn as a button)."""
    page.locator(f"label.choice:has(#f-{name}-{value})").tap()
    expect(page.locator(f"#f-{name}-{value}")).to_be_checked()


def record_visit(page: Page, number: str) -> None:
    truth = truth_of(number)
    choose(page, "visited", "1")
    page.fill("#f-household_size", truth["household_size"])
    page.fill("#f-wage_income", truth["wage_income"])
    for name in ("food_secure", "clothing_secure", "schooling_secure", "medical_secure"):
        choose(page, name, truth[name])
    choose(page, "housing_grade", truth["housing_grade"])
    choose(page, "judgement", truth["judgement"])
    choose(page, "approval", truth["approval"])


def test_the_verifier_records_a_village_on_a_phone_and_the_county_sees_the_rates(
        phone: Page) -> None:
    page = phone
    log_in(page, "verifier")
    page.click("nav a[href='/verification']")
    page.click(f"#plans tr[data-plan='{OPEN}'] a")
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "released")
    page.click(f"#progress tr[data-village='{VILLAGE}'] a")
    visits = page.locator("#visits li")
    expect(visits).to_have_count(5)
    fits(page)
    shot(page, "verification-village-phone")
    numbers = [str(n) for n in visits.evaluate_all("els => els.map(e => e.dataset.household)")]
    for i, number in enumerate(numbers):
        page.click(f"#h-{number} a")
        expect(page.locator("#finding-form")).to_be_visible()
        # a target for a thumb (polled: under load the page's stylesheet may apply late)
        page.wait_for_function(THUMB_TARGET, timeout=10_000)
        if i == len(numbers) - 1:  # nobody at home: a reason, and the rest of the form goes
            choose(page, "visited", "0")
            expect(page.locator("#field-not_visited_reason")).to_be_visible()
            expect(page.locator("#field-wage_income")).to_be_hidden()
            choose(page, "not_visited_reason", "absent")
        else:
            expect(page.locator("#field-not_visited_reason")).to_be_hidden()
            record_visit(page, number)
        fits(page)
        if i == 0:
            shot(page, "verification-finding-phone")
        page.click("#save")
        expect(page.locator(".flash")).to_contain_text(number)
        expect(page.locator(f"#h-{number}")).to_have_attribute(
            "data-finding", "not-visited" if i == len(numbers) - 1 else "visited")
    expect(page.locator("#visits li[data-finding='todo']")).to_have_count(0)
    shot(page, "verification-village-done-phone")

    # the fieldwork is done: the verifier closes the plan (the policy gives them the close)
    page.click(f"a[href='/verification/{OPEN}']")
    page.click("#close-step summary")  # closing is final: one more tap
    page.click("#close")
    expect(page.locator("#plan-state")).to_have_attribute("data-state", "closed")
    expect(page.locator("#plan-estimates tbody tr")).to_have_count(4)
    fits(page)
    page.click("#logout")

    log_in(page, "county-officer")
    page.click("nav a[href='/regions']")
    section = page.locator("#county-verification")  # loaded into the county page by htmx
    expect(section.locator("#verification-plan")).to_have_attribute("data-plan", str(OPEN))
    rows = section.locator("#county-estimates tbody tr")
    expect(rows).to_have_count(4)
    for i in range(4):
        expect(rows.nth(i).locator(".interval")).to_have_text(
            re.compile(r"^\d+\.\d\d% – \d+\.\d\d%$"))
        expect(rows.nth(i).locator(".verdict")).to_have_count(1)
    check = section.locator("#exit-check")
    for criterion in ("wrong_exit_rate", "missed_rate", "approval_rate"):
        expect(check.locator(f"tr[data-criterion='{criterion}'] td.basis a")).to_have_attribute(
            "href", f"/verification/{OPEN}")
    expect(section.locator("#exit-verdict")).to_be_visible()
    shot(page, "verification-county-phone")
