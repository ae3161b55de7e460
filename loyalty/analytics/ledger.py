"""Ledger analytics, aggregated in SQL: points issued, redeemed, expired and reversed per
month, active members, and the outstanding liability.

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

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth

from loyalty.models import EARNING_KINDS, Account, Entry, EntryKind
from loyalty.timing import program_zone

MOVED = F("points") + F("pending_points")
PASSIVE_KINDS = (EntryKind.EXPIRE, EntryKind.RELEASE)
FLOWS = {
    "issued": Sum(MOVED, filter=Q(kind__in=EARNING_KINDS) | Q(kind=EntryKind.ADJUST, points__gt=0)),
    "redeemed": Sum(-F("points"), filter=Q(kind__in=(EntryKind.REDEEM, EntryKind.RESTORE))),
    "expired": Sum(-F("points"), filter=Q(kind=EntryKind.EXPIRE)),
    "reversed": Sum(-MOVED, filter=Q(kind=EntryKind.REVERSAL)),
    "taken_back": Sum(-F("points"), filter=Q(kind=EntryKind.ADJUST, points__lt=0)),
}
FLOW_NAMES = tuple(FLOWS)


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
    """Per month (program time zone): each flow of points and the active members."""
    rows = (
        _entries(start, end)
        .annotate(month=TruncMonth("occurred_at", tzinfo=program_zone()))
        .values("month")
        .annotate(
            active=Count("account", distinct=True, filter=~Q(kind__in=PASSIVE_KINDS)),
            **{name: Coalesce(flow, 0) for name, flow in FLOWS.items()},
        )
        .order_by("month")
    )
    return {_month(row.pop("month")): row for row in rows}


def active_members(*, start: datetime, end: datetime) -> int:
    """Members with an entry they caused in the period (a member active in several months
    counts once). Asked per account (``EXISTS``), which stops at each member's first such
    entry: cheaper than sorting every entry of the period for a distinct count."""
    caused = _entries(start, end).exclude(kind__in=PASSIVE_KINDS).filter(account=OuterRef("pk"))
    return Account.objects.filter(Exists(caused)).count()


def liability() -> Liability:
    """Points members hold now (available and pending), and what they are worth."""
    sums = Account.objects.aggregate(
        available=Coalesce(Sum("balance"), 0), pending=Coalesce(Sum("pending"), 0)
    )
    return Liability(
        available=sums["available"],
        pending=sums["pending"],
        point_value=settings.POINT_VALUE,
        currency=settings.DEFAULT_CURRENCY,
    )
