"""The analytics page's report: every figure for a date range, gathered from the SQL
aggregates of ``loyalty.analytics`` and ``referrals.selectors`` (ten queries, whatever
the size of the ledger), and shaped into tables (HTML and CSV) and charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from config.backoffice.referrals import top_referrers
from loyalty.analytics.activity import Activity, members_active
from loyalty.analytics.campaigns import campaign_performance
from loyalty.analytics.ledger import FLOW_NAMES, Liability, liability, points_by_month
from loyalty.analytics.members import MemberCounts, members_overview, segment_distribution
from loyalty.analytics.planning import report_planning
from loyalty.timing import program_zone
from referrals.selectors import Funnel, program_funnel


@dataclass(frozen=True)
class Period:
    """Whole days in the program's time zone, ``first`` to ``last`` inclusive."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=program_zone())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=program_zone())

    def months(self) -> list[date]:
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


@dataclass(frozen=True)
class Report:
    period: Period
    members: int
    active: int
    monthly: list[dict[str, Any]]
    totals: dict[str, int]
    liability: Liability
    funnel: Funnel
    referrers: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    tiers: list[dict[str, Any]]
    segments: list[dict[str, Any]]

    @property
    def new_members(self) -> int:
        return sum(row["new_members"] for row in self.monthly)

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed per point issued in the period."""
        issued = self.totals["issued"]
        return self.totals["redeemed"] / issued if issued else None


def _monthly(period: Period, members: MemberCounts, active: Activity) -> list[dict[str, Any]]:
    flows = points_by_month(start=period.start, end=period.end)
    empty = dict.fromkeys(FLOW_NAMES, 0)
    return [
        {
            "month": month,
            "new_members": members.joined.get(month, 0),
            "active": active.by_month.get(month, 0),
            **flows.get(month, empty),
        }
        for month in period.months()
    ]


def _campaigns(period: Period, now: datetime) -> list[dict[str, Any]]:
    rows = campaign_performance(start=period.start, end=period.end, now=now)
    return [{**row, "change": _change(row["sales_before"], row["sales_during"])} for row in rows]


def _change(before: Any, during: Any) -> float | None:
    return float((during - before) / before) if before else None


def analytics_report(*, period: Period, now: datetime | None = None) -> Report:
    now = now or timezone.now()
    with report_planning():
        return _report(period, now)


def _report(period: Period, now: datetime) -> Report:
    start, end = period.start, period.end
    members = members_overview(start=start, end=end, moment=min(end, now))
    active = members_active(start=start, end=end, months=period.months())
    monthly = _monthly(period, members, active)
    return Report(
        period=period,
        members=members.members,
        active=active.total,
        monthly=monthly,
        totals={name: sum(row[name] for row in monthly) for name in FLOW_NAMES},
        liability=liability(available=members.available, pending=members.pending),
        funnel=program_funnel(start=start, end=end),
        referrers=top_referrers(start=start, end=end),
        campaigns=_campaigns(period, now),
        tiers=members.tiers,
        segments=segment_distribution(),
    )
