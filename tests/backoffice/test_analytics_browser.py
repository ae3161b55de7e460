"""The analytics page in a real browser (Debian Chromium, Playwright): the vendored
Chart.js draws every chart from the page's data, without a script error.

Playwright runs in a thread of its own: the member-journey tests keep a session-wide
Playwright (and its event loop) open in the main thread of the same worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHARTS = ["chart-points", "chart-members", "chart-funnel", "chart-tiers"]
PERIOD = "first%3D2026-03-01%26last%3D2026-05-31"


def in_own_thread(work: Callable[[], Any]) -> Any:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def charts_drawn(base_url: str, email: str) -> tuple[list, list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, base_url=base_url)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"/admin/login/?next=/admin/analytics/%3F{PERIOD}")
        page.fill("input[name=username]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/analytics/**")
        drawn = page.evaluate(
            "ids => ids.map(id => { const c = Chart.getChart(id);"
            " return c ? [c.config.type, c.data.datasets.map(d => d.data)] : null; })",
            CHARTS,
        )
        browser.close()
    return drawn, errors


def test_every_chart_is_drawn(live_server, club) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    # (a transactional test: rows made by data migrations, like the staff groups, may have
    # been flushed by an earlier one)
    staff = UserFactory(email="mia@example.com", is_staff=True, is_superuser=True)

    drawn, errors = in_own_thread(lambda: charts_drawn(live_server.url, staff.email))

    assert drawn == [
        ["bar", [[300, 180, 170], [200, 0, 0], [300, 40, 0]]],
        ["line", [[1, 1, 1], [2, 3, 3]]],
        ["bar", [[12, 3, 2, 1]]],
        ["doughnut", [[4, 2, 1]]],
    ]
    assert errors == []
