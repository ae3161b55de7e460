"""What the portal shows, gathered in a fixed number of queries whatever the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from loyalty.models import Account, Campaign, Entry, TierChange
from loyalty.selectors import account_entries, points_expiring
from loyalty.services.campaigns import campaigns_live, campaigns_segment
from loyalty.services.ledger import account_open
from loyalty.services.program import program_snapshot
from loyalty.services.tiers import tier_progress
from loyalty.timing import program_zone
from referrals.codes import referral_code_for
from referrals.models import ReferralCode
from rewards.selectors import rewards_affordable

HAPPY_DAYS = 7


def member_account(*, member: User) -> Account:
    """The member's account with its tier (one query; opened on first visit)."""
    account = Account.objects.select_related("tier").filter(member=member).first()
    return account or Account.objects.select_related("tier").get(pk=account_open(member=member).pk)


def _campaigns_for(account: Account) -> list[Campaign]:
    """Live campaigns this member can benefit from (tier and segment targeting)."""
    live = campaigns_live(at=timezone.now())
    segment = campaigns_segment(campaigns=live, account_id=account.pk)
    mine = []
    for campaign in live:
        in_tier = not campaign.tier_ids or account.tier_id in campaign.tier_ids
        in_segment = not campaign.target_segments or segment in campaign.target_segments
        if in_tier and in_segment:
            mine.append(campaign)
    return mine


def _recent_upgrade(account: Account) -> TierChange | None:
    since = timezone.now() - timedelta(days=HAPPY_DAYS)
    if account.tier_since is None or account.tier_since < since:
        return None  # every tier change sets tier_since: nothing moved lately
    changes = TierChange.objects.filter(account=account, direction="up", created_at__gte=since)
    return changes.select_related("to_tier").order_by("-created_at").first()


@dataclass(frozen=True)
class Dashboard:
    account: Account
    progress: dict[str, Any]
    expiring: dict[str, Any]
    campaigns: list[Campaign]
    recent: list[Entry]
    affordable: list[Any]
    upgrade: TierChange | None
    referral_code: str


def _referral_code(account: Account, member: User) -> str:
    try:
        return account.member.referral_code.code  # read with the account
    except ReferralCode.DoesNotExist:
        return referral_code_for(member=member).code


def dashboard(*, member: User) -> Dashboard:
    with_code = Account.objects.select_related("tier", "member__referral_code")
    account = with_code.filter(member=member).first() or member_account(member=member)
    tiers = program_snapshot().tiers
    return Dashboard(
        account=account,
        progress=tier_progress(account=account, tiers=tiers),
        expiring=points_expiring(account=account, days=30),
        campaigns=_campaigns_for(account),
        recent=list(account_entries(account=account).select_related("lot")[:5]),
        affordable=rewards_affordable(account=account, limit=3),
        upgrade=_recent_upgrade(account),
        referral_code=_referral_code(account, member),
    )


def activity(
    *, account: Account, kind: str = "", start: date | None = None, end: date | None = None
) -> QuerySet[Entry]:
    """The member's ledger, newest first, filtered by kind and by local dates."""
    entries = account_entries(account=account).select_related("lot")
    if kind:
        entries = entries.filter(kind=kind)
    if start:
        entries = entries.filter(occurred_at__gte=_local_midnight(start))
    if end:
        entries = entries.filter(occurred_at__lt=_local_midnight(end + timedelta(days=1)))
    return entries


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=program_zone())
