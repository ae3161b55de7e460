"""The analytics page in a real browser (Debian Chromium, Playwright): the vendored
Chart.js draws every chart from the page's data, without a script error."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import browser  # noqa: F401 - the session's Chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHARTS = ["chart-points", "chart-members", "chart-funnel", "chart-tiers"]


@pytest.fixture
def desk(browser, live_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    yield page
    context.close()


def test_every_chart_is_drawn(desk, club) -> None:
    marketer = UserFactory(email="mia@example.com", is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketing"))
    errors: list[str] = []
    desk.on("pageerror", lambda error: errors.append(str(error)))

    desk.goto("/admin/login/?next=/admin/analytics/%3Ffirst%3D2026-03-01%26last%3D2026-05-31")
    desk.fill("input[name=username]", "mia@example.com")
    desk.fill("input[name=password]", PASSWORD)
    desk.click("input[type=submit]")
    desk.wait_for_url("**/admin/analytics/**")

    drawn = desk.evaluate(
        "ids => ids.map(id => { const c = Chart.getChart(id);"
        " return c ? [c.config.type, c.data.datasets.map(d => d.data)] : null; })",
        CHARTS,
    )
    assert drawn == [
        ["bar", [[300, 180, 170], [200, 0, 0], [300, 40, 0]]],
        ["line", [[1, 1, 1], [2, 3, 3]]],
        ["bar", [[12, 3, 2, 1]]],
        ["doughnut", [[4, 2, 1]]],
    ]
    assert errors == []
