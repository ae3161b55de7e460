"""Ledger analytics, aggregated in SQL: points issued, redeemed, expired and reversed per
month, and the outstanding liability (active members: ``loyalty.analytics.activity``).

Definitions (so the numbers reconcile with the ledger, see docs/ledger.md):

* issued = credits of earned, bonus and referral points and positive staff adjustments,
  available or pending (a pending credit counts when it is earned, its later release
  moves nothing);
* redeemed = points spent on rewards, less points given back by cancelled redemptions;
* expired, reversed (refunds) and taken back (negative staff adjustments) as recorded;
* so issued − redeemed − expired − reversed − taken back = the change of outstanding
  points (available + pending) over the period;
* an *active* member had an entry they caused in the period: anything but an automatic
  expiry or release of pending points.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, Sum
from django.db.models.functions import TruncMonth

from loyalty.models import EARNING_KINDS, Entry, EntryKind
from loyalty.timing import program_zone

PASSIVE_KINDS = (EntryKind.EXPIRE, EntryKind.RELEASE)
FLOW_NAMES = ("issued", "redeemed", "expired", "reversed", "taken_back")


@dataclass(frozen=True)
class Liability:
    available: int
    pending: int
    point_value: Decimal
    currency: str

    @property
    def points(self) -> int:
        return self.available + self.pending

    @property
    def money(self) -> Decimal:
        return self.money_of(self.points)

    @property
    def available_money(self) -> Decimal:
        return self.money_of(self.available)

    def money_of(self, points: int) -> Decimal:
        return (points * self.point_value).quantize(
            Decimal(1).scaleb(-settings.MONEY_DECIMAL_PLACES)
        )


def _entries(start: datetime, end: datetime):
    return Entry.objects.filter(occurred_at__gte=start, occurred_at__lt=end)


def _month(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def points_by_month(*, start: datetime, end: datetime) -> dict[date, dict[str, int]]:
    """Per month (program time zone): each flow of points. Summed in SQL per month, kind
    and sign (a plain hash aggregate: a few hundred groups, no sort of the entries), then
    the sums are filed under their flow."""
    credit = ExpressionWrapper(Q(points__gt=0), output_field=BooleanField())
    rows = (
        _entries(start, end)
        .annotate(month=TruncMonth("occurred_at", tzinfo=program_zone()), credit=credit)
        .values("month", "kind", "credit")
        .annotate(points=Sum("points"), pending=Sum("pending_points"))
        .order_by()
    )
    flows: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOW_NAMES, 0))
    for row in rows:
        if flow := _flow(row):
            flows[_month(row["month"])][flow[0]] += flow[1]
    return dict(flows)


def _flow(row: dict[str, Any]) -> tuple[str, int] | None:
    """The flow a month's sums of one kind and sign belong to, and the points they add."""
    kind, points, moved = row["kind"], row["points"], row["points"] + row["pending"]
    if kind in EARNING_KINDS or (kind == EntryKind.ADJUST and row["credit"]):
        return "issued", moved
    if kind in (EntryKind.REDEEM, EntryKind.RESTORE):
        return "redeemed", -points
    if kind == EntryKind.EXPIRE:
        return "expired", -points
    if kind == EntryKind.REVERSAL:
        return "reversed", -moved
    if kind == EntryKind.ADJUST:
        return "taken_back", -points
    return None  # a release moves pending points to available: no flow


def liability(*, available: int, pending: int) -> Liability:
    """Points members hold now (available and pending, summed over the accounts by
    ``members_overview``), and what they are worth."""
    return Liability(
        available=available,
        pending=pending,
        point_value=settings.POINT_VALUE,
        currency=settings.DEFAULT_CURRENCY,
    )
