"""Member analytics, aggregated in SQL: new members per month, members at a date, the
tier and RFM segment distributions, the points members hold. A member is a person with a
points account."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from loyalty.models import Account, MemberSegment, SegmentLabel
from loyalty.timing import program_zone


@dataclass(frozen=True)
class MemberCounts:
    members: int  # who had joined before the moment asked about
    joined: dict[date, int]  # new members per month of the period
    tiers: list[dict[str, object]]  # members per current tier, no tier first
    available: int  # points held by all members now
    pending: int


def members_overview(*, start: datetime, end: datetime, moment: datetime) -> MemberCounts:
    """Everything the report asks of the accounts, in one pass over them: per current tier
    and month of joining, the members (all, joined before ``moment``, joined in the period)
    and the points they hold."""
    joined_at = "member__date_joined"
    rows = (
        Account.objects.annotate(month=TruncMonth(joined_at, tzinfo=program_zone()))
        .values("tier__name", "tier__rank", "month")
        .annotate(
            accounts=Count("id"),
            before=Count("id", filter=Q(**{f"{joined_at}__lt": moment})),
            new=Count("id", filter=Q(**{f"{joined_at}__gte": start, f"{joined_at}__lt": end})),
            available=Sum("balance"),
            pending=Sum("pending"),
        )
        .order_by()
    )
    return _counts(list(rows))


def _counts(rows: list[dict[str, Any]]) -> MemberCounts:
    joined: Counter[date] = Counter()
    tiers: Counter[tuple[int, str]] = Counter()
    for row in rows:
        if row["new"]:
            joined[_day(row["month"])] += row["new"]
        rank = row["tier__rank"]
        tiers[(-1 if rank is None else rank, row["tier__name"] or "")] += row["accounts"]
    return MemberCounts(
        members=sum(row["before"] for row in rows),
        joined=dict(sorted(joined.items())),
        tiers=[{"tier": name, "members": n} for (_rank, name), n in sorted(tiers.items())],
        available=sum(row["available"] for row in rows),
        pending=sum(row["pending"] for row in rows),
    )


def segment_distribution() -> list[dict[str, object]]:
    """Members per RFM segment, in the order of the labels."""
    counts = dict(
        MemberSegment.objects.values("label").annotate(n=Count("id")).values_list("label", "n")
    )
    return [
        {"segment": label.label, "code": label.value, "members": counts.get(label.value, 0)}
        for label in SegmentLabel
    ]


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
