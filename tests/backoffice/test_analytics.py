"""The analytics report against the hand-computed history of the ``club`` fixture.

Period: 1 March – 31 May 2026.

| m | new | active                   | issued      | redeemed  | expired | reversed | taken back |
|---|-----|--------------------------|-------------|-----------|---------|----------|------------|
| 3 | ben | ann (redeem), ben (earn) | ben 300 (p) | ann 200   | ann 300 | 0        | 0          |
| 4 | cat | ann, ben, cat            | 100 + 80    | 100 − 100 | fay 40  | 0        | 0          |
| 5 | dan | ben (refund), cat, dan   | 150 + 20    | 0         | 0       | 50       | 30         |

(p): pending when earned, it counts as issued then.

Expiries and releases make nobody active: fay's only entry in the period is the expiry
of her January points (30 April), gus's is the release of his February points (15 March).
Members at the end: ann, ben, cat, dan, fay, gus (eve joins on 1 June).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.backoffice.report import Period, analytics_report
from config.backoffice.tables import report_tables
from loyalty.analytics import activity
from loyalty.analytics.planning import report_planning
from tests.conftest import NOW

pytestmark = pytest.mark.django_db

SPRING = Period(first=date(2026, 3, 1), last=date(2026, 5, 31))
FLOWS = ("new_members", "active", "issued", "redeemed", "expired", "reversed", "taken_back")


def test_monthly_flows_members_and_active_members(club) -> None:
    report = analytics_report(period=SPRING, now=NOW)

    monthly = [(row["month"], *(row[k] for k in FLOWS)) for row in report.monthly]
    assert monthly == [
        (date(2026, 3, 1), 1, 2, 300, 200, 300, 0, 0),
        (date(2026, 4, 1), 1, 3, 180, 0, 40, 0, 0),
        (date(2026, 5, 1), 1, 3, 170, 0, 0, 50, 30),
    ]
    assert (report.members, report.new_members, report.active) == (6, 3, 4)
    totals = {"issued": 650, "redeemed": 200, "expired": 340, "reversed": 50, "taken_back": 30}
    assert report.totals == totals
    assert report.redemption_rate == pytest.approx(200 / 650)


def test_liability_in_points_and_money(club) -> None:
    # available: ann 100, ben 300 − 50, cat 80 − 30 + 20, dan 150, gus 60; eve 10 pending
    liability = analytics_report(period=SPRING, now=NOW).liability

    assert (liability.available, liability.pending, liability.points) == (630, 10, 640)
    assert (liability.money, liability.currency) == (Decimal("32.00"), "EUR")  # 0.05 a point


def test_flows_since_the_start_reconcile_with_the_liability(club) -> None:
    report = analytics_report(period=Period(first=date(2026, 1, 1), last=date(2026, 6, 1)))

    t = report.totals
    net = t["issued"] - t["redeemed"] - t["expired"] - t["reversed"] - t["taken_back"]
    # before March: fay 40, ann 500, gus 60; on 1 June: eve 10
    assert (t["issued"], net) == (40 + 500 + 60 + 650 + 10, report.liability.points)


def test_referral_funnel_k_factor_and_top_referrers(club) -> None:
    report = analytics_report(period=SPRING, now=NOW)

    f = report.funnel
    assert (f.clicks, f.signups, f.qualified, f.rewarded) == (12, 3, 2, 1)
    assert (f.invites, f.invite_signups, f.members) == (3, 1, 7)
    assert f.conversion == pytest.approx(1 / 12)
    # 3 invite emails + 2 link visitors (ann's 10 clicks from one address, ben's 2 from
    # another); all 3 referred sign-ups count, whichever way the friend came.
    assert (f.link_visitors, f.invitations) == (2, 5)
    assert f.invitations_per_member == pytest.approx(5 / 7)
    assert f.invitation_conversion == pytest.approx(3 / 5)
    assert f.k_factor == pytest.approx(3 / 7)
    top = [
        (r["email"], r["signups"], r["qualified"], r["rewarded"], r["points"])
        for r in report.referrers
    ]
    assert top == [("ann@example.com", 2, 1, 1, 200), ("ben@example.com", 1, 1, 0, 0)]


def test_campaign_performance_compares_with_the_same_length_before(club) -> None:
    rows = analytics_report(period=SPRING, now=NOW).campaigns

    got = [
        (r["name"], r["bonus_awarded"], r["members_reached"], r["purchases_during"],
         r["sales_during"], r["purchases_before"], r["sales_before"], r["change"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        # 20 May – now (12.5 days) against 7 May 12:00 – 20 May
        ("June days", 0, 0, 1, Decimal("60.00"), 1, Decimal("10.00"), pytest.approx(5.0)),
        # April against 2 March – 1 April; the draft never ran
        ("Spring double", 120, 2, 3, Decimal("100.00"), 1, Decimal("40.00"), pytest.approx(1.5)),
    ]


def test_tier_and_segment_distribution(club) -> None:
    report = analytics_report(period=SPRING, now=NOW)

    assert report.tiers == [
        {"tier": "", "members": 4},
        {"tier": "Bronze", "members": 2},
        {"tier": "Silver", "members": 1},
    ]
    assert {s["code"]: s["members"] for s in report.segments} == {
        "champions": 1,
        "loyal": 1,
        "new": 0,
        "potential": 0,
        "at_risk": 0,
        "hibernating": 0,
    }


def test_tables_as_csv(club) -> None:
    tables = report_tables(analytics_report(period=SPRING, now=NOW))

    assert tables["monthly"].csv().splitlines() == [
        "Month,New members,Active members,Issued,Redeemed,Expired,Reversed,Taken back",
        "2026-03,1,2,300,200,300,0,0",
        "2026-04,1,3,180,0,40,0,0",
        "2026-05,1,3,170,0,0,50,30",
    ]
    summary = dict(tables["summary"].rows)
    assert summary["Redemption rate"] == "30.8%"
    assert summary["Outstanding liability (EUR)"] == Decimal("32.00")
    assert dict(tables["funnel"].rows)["K-factor"] == "0.429"


def test_the_report_takes_the_same_queries_however_long_the_history(club) -> None:
    with CaptureQueriesContext(connection) as spring:
        analytics_report(period=SPRING, now=NOW)
    with CaptureQueriesContext(connection) as whole:
        analytics_report(period=Period(first=date(2025, 1, 1), last=date(2026, 6, 1)), now=NOW)

    assert len(spring) == len(whole) <= 15


@pytest.mark.postgres
def test_active_members_from_month_masks_match_a_distinct_count(club) -> None:
    # the PostgreSQL statement (bit masks over entry_activity_idx) against the ORM's count
    period = Period(first=date(2025, 12, 15), last=date(2026, 6, 1))  # over a new year
    start, end, months = period.start, period.end, period.months()

    masks = activity.members_active(start=start, end=end, months=months)

    by_month = activity._active_by_month(start, end)
    assert masks.by_month == {month: by_month.get(month, 0) for month in months}
    assert [masks.by_month[date(2026, month, 1)] for month in (3, 4, 5)] == [2, 3, 3]
    # everybody: fay and gus earned in January and February, eve on 1 June
    assert masks.total == activity._active_total(start, end) == 7


@pytest.mark.postgres
def test_the_report_plans_each_statement_for_its_own_dates() -> None:
    def plan_cache_mode() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return cursor.fetchone()[0]

    with report_planning():
        inside = plan_cache_mode()

    assert (inside, plan_cache_mode()) == ("force_custom_plan", "auto")
