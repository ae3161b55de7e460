"""Reads shared by the portal, the API and the admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Min, QuerySet, Sum
from django.utils import timezone

from loyalty.models import Account, Entry, Lot, Tier
from loyalty.services.tiers import tier_progress
from loyalty.timing import last_valid_day


def points_expiring(*, account: Account, days: int = 30, as_of: datetime | None = None) -> dict:
    """Available points whose lots expire within ``days``, and the first such day."""
    if account.pk is None:  # not opened yet: nothing can expire
        return {"points": 0, "date": None}
    as_of = as_of or timezone.now()
    soon = Lot.objects.spendable(as_of=as_of).filter(
        account=account, expires_at__lte=as_of + timedelta(days=days)
    )
    totals = soon.order_by().aggregate(points=Sum("remaining"), first=Min("expires_at"))
    first: date | None = last_valid_day(totals["first"]) if totals["first"] else None
    return {"points": totals["points"] or 0, "date": first}


def member_summary(*, account: Account, tiers: list[Tier] | None = None) -> dict:
    """Balance, tier and progress, and points expiring soon: the member at a glance."""
    progress = tier_progress(account=account, tiers=tiers)
    return {
        "account": account,
        "progress": progress,
        "expiring": points_expiring(account=account),
    }


def account_entries(*, account: Account) -> QuerySet[Entry]:
    """A member's history, newest first (served by ``entry_account_recent_idx``)."""
    if account.pk is None:
        return Entry.objects.none()
    return Entry.objects.filter(account=account).order_by("-occurred_at", "-id")
