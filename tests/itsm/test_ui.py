"""The ``/ui/tickets`` page in a real Chromium: dropdowns, generated fields, preview, errors, link.

Uses Debian's chromium (``make browser`` installs it); never ``playwright install``. Without
the browser the test is skipped locally and fails under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.jira import ISSUE, RunningJira
from tests.integration.harness import RunningAPI
from tests.itsm.conftest import ADMIN_TOKEN

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (run `make browser`)")
        pytest.skip(f"{CHROMIUM} missing; run `make browser`")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield browser
        browser.close()


def test_ticket_page_previews_shows_errors_inline_and_links_the_created_ticket(
    api: RunningAPI, jira: RunningJira, browser: playwright_sync.Browser
) -> None:
    # ``api`` first: playwright's sync API keeps an event loop running in this thread, so
    # the database migration (asyncio.run) must happen before the browser starts.
    page = browser.new_page()
    page.goto(f"{api.base_url}/ui/tickets")
    page.fill("#token", ADMIN_TOKEN)
    page.select_option("#platform", "jira")
    page.wait_for_selector("#template option[value='bug_report']", state="attached")
    page.select_option("#template", "bug_report")
    for name in ("summary", "description", "severity", "priority"):
        page.wait_for_selector(f"#var-{name}")

    # Missing variables are shown next to their own fields.
    error = page.locator("[data-error-for='variables.severity']")
    playwright_sync.expect(error).to_contain_text("is required by this template")

    page.fill("#var-summary", "Checkout fails on card payments")
    page.fill("#var-description", "Users cannot pay.\nSince 09:40.")
    page.fill("#var-severity", "P1")
    page.fill("#var-priority", "Urgent")
    priority_error = page.locator("[data-error-for='variables.priority']")
    playwright_sync.expect(priority_error).to_contain_text("must be one of 'Highest'")
    assert "invalid" in (page.locator("#var-priority").get_attribute("class") or "")

    page.fill("#var-priority", "Highest")
    playwright_sync.expect(page.locator("#preview")).to_contain_text('"type": "doc"')
    playwright_sync.expect(page.locator("#preview")).to_contain_text("severity-P1")
    assert jira.state.creates(ISSUE) == []

    page.click("#create")
    link = page.locator("#ticket-link")
    playwright_sync.expect(link).to_have_text("OPS-1")
    assert link.get_attribute("href") == f"{jira.base_url}/browse/OPS-1"
    assert len(jira.state.creates(ISSUE)) == 1
    page.close()
