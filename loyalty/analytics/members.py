"""Member analytics, aggregated in SQL: new members per month, members at a date, the
tier and RFM segment distributions. A member is a person with a points account."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, F
from django.db.models.functions import TruncMonth

from loyalty.models import Account, MemberSegment, SegmentLabel
from loyalty.timing import program_zone


def members_joined_by_month(*, start: datetime, end: datetime) -> dict[date, int]:
    rows = (
        Account.objects.filter(member__date_joined__gte=start, member__date_joined__lt=end)
        .annotate(month=TruncMonth("member__date_joined", tzinfo=program_zone()))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("month")
    )
    return {_day(row["month"]): row["n"] for row in rows}


def members_at(*, moment: datetime) -> int:
    """Members who had joined before ``moment``."""
    return Account.objects.filter(member__date_joined__lt=moment).count()


def tier_distribution() -> list[dict[str, object]]:
    """Members per current tier, lowest tier first; members without a tier first of all."""
    rows = (
        Account.objects.values("tier__name", "tier__rank")
        .annotate(members=Count("id"))
        .order_by(F("tier__rank").asc(nulls_first=True))
    )
    return [{"tier": row["tier__name"] or "", "members": row["members"]} for row in rows]


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
