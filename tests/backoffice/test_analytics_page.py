from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from config.analytics_views import default_period
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

SPRING = {"first": "2026-03-01", "last": "2026-05-31"}


@pytest.fixture
def marketer(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Marketing"))
    client.force_login(user)
    return user


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="analytics-data" type="application/json">(.*?)</script>', html)
    return json.loads(match.group(1))


@pytest.mark.usefixtures("marketer")
def test_the_page_shows_figures_and_charts_for_the_chosen_period(client, club) -> None:
    page = client.get(reverse("analytics"), SPRING)

    html = page.content.decode()
    assert page.status_code == 200
    data = chart_data(html)
    assert data["months"] == ["2026-03", "2026-04", "2026-05"]
    assert data["points"]["series"] == [[300, 180, 170], [200, 0, 0], [300, 40, 0]]
    assert data["members"]["series"] == [[1, 1, 1], [2, 3, 3]]
    assert data["funnel"]["values"] == [12, 3, 2, 1]
    assert '<script src="/static/vendor/chartjs-4.5.1/chart.umd.min.js"></script>' in html
    assert "https://" not in "".join(re.findall(r"<script[^>]*>", html))  # no CDN
    assert "<td>Spring double</td>" in html
    assert "<td>ann@example.com</td>" in html


@pytest.mark.usefixtures("marketer")
def test_each_table_downloads_as_csv(client, club) -> None:
    response = client.get(reverse("analytics"), {**SPRING, "download": "campaigns"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "analytics-campaigns-2026-03-01-2026-05-31.csv" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Campaign,Kind,Starts,Ends,Bonus points,Members reached")
    assert lines[2].startswith("Spring double,Points multiplier,")
    assert lines[2].endswith(",120,2,3,100.00,1,40.00,150.0%")
    assert client.get(reverse("analytics"), {"download": "nope"}).status_code == 404


@pytest.mark.usefixtures("marketer")
def test_a_wrong_range_is_explained_and_the_default_period_shown(client, clock) -> None:
    page = client.get(reverse("analytics"), {"first": "2026-05-01", "last": "2026-04-01"})

    assert "The start date must not be after the end date." in page.content.decode()
    assert page.context["period"] == default_period(date(2026, 6, 1))
    assert default_period(date(2026, 6, 1)).first == date(2025, 7, 1)


def test_the_analytics_link_is_on_the_admin_index_for_marketing_only(client, marketer) -> None:
    link = reverse("admin:config_analytics_changelist")
    index = client.get(reverse("admin:index")).content.decode()
    followed = client.get(link)
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    client.force_login(support)
    other = client.get(reverse("admin:index")).content.decode()

    assert f'href="{link}"' in index
    assert followed["Location"] == reverse("analytics")
    assert link not in other
