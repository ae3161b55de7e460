"""Referral reads for the analytics page that cross apps (member emails)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from referrals.models import Referral, ReferralStatus

TOP = 10


def top_referrers(*, start: datetime, end: datetime, limit: int = TOP) -> list[dict[str, object]]:
    """Members whose referrals signed up in the period, most rewarded referrals first."""
    rows = (
        Referral.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("referrer_id", "referrer__email")
        .annotate(
            signups=Count("id"),
            qualified=Count("id", filter=Q(qualified_at__isnull=False)),
            rewarded=Count("id", filter=Q(status=ReferralStatus.REWARDED)),
            points=Coalesce(Sum("referrer_points"), 0),
        )
        .order_by("-rewarded", "-signups", "referrer__email")
    )
    return [{**row, "email": row.pop("referrer__email")} for row in rows[:limit]]
