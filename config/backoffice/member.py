"""The member page ("member 360") for support staff: everything about one member.

One selector gathers it across the apps in a fixed number of queries (about fifteen),
however long the member's history: each list is one query with its relations joined and
a bounded length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import get_object_or_404

from accounts.models import User
from loyalty.models import (
    Account,
    CampaignParticipation,
    Entry,
    Event,
    Lot,
    LotState,
    MemberSegment,
    Tier,
    TierChange,
)
from loyalty.selectors import points_expiring
from loyalty.services.tiers import tier_progress
from referrals.models import Referral, ReferralCode
from referrals.selectors import MemberReferralStats, member_referral_stats
from rewards.models import Redemption
from rewards.selectors import redemptions_of

RECENT = 20
LISTED = 50


@dataclass(frozen=True)
class MemberLedger:
    account: Account
    segment: MemberSegment | None
    progress: dict[str, Any]
    expiring: dict[str, Any]
    lots: list[Lot]
    entries: list[Entry]
    events: list[Event]
    tier_changes: list[TierChange]
    campaigns: list[CampaignParticipation]
    redemptions: list[Redemption]


@dataclass(frozen=True)
class MemberReferrals:
    code: ReferralCode | None
    referred_by: Referral | None
    made: list[Referral]
    stats: MemberReferralStats


@dataclass(frozen=True)
class Member360:
    member: User
    ledger: MemberLedger | None
    referrals: MemberReferrals


def _related(obj: Any, name: str) -> Any:
    """A reverse one-to-one that may be missing (already joined: no query)."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def _member(member_id: int) -> User:
    joined = (
        "loyalty_account__tier",
        "loyalty_account__segment",
        "referral_code",
        "referred_by__referrer",
    )
    return get_object_or_404(User.objects.select_related(*joined), pk=member_id)


def _open_lots(account: Account) -> list[Lot]:
    lots = account.lots.filter(state__in=[LotState.PENDING, LotState.AVAILABLE], remaining__gt=0)
    return list(lots.order_by("expires_at", "id")[:LISTED])


def _ledger(account: Account) -> MemberLedger:
    changes = account.tier_changes.select_related("from_tier", "to_tier").order_by("-created_at")
    campaigns = account.campaign_participations.select_related("campaign").order_by("-first_at")
    return MemberLedger(
        account=account,
        segment=_related(account, "segment"),
        progress=tier_progress(account=account, tiers=list(Tier.objects.order_by("rank"))),
        expiring=points_expiring(account=account),
        lots=_open_lots(account),
        entries=list(
            account.entries.select_related("created_by").order_by("-occurred_at", "-id")[:RECENT]
        ),
        events=list(account.events.order_by("-occurred_at", "-id")[:RECENT]),
        tier_changes=list(changes[:RECENT]),
        campaigns=list(campaigns[:RECENT]),
        redemptions=list(redemptions_of(account=account)[:LISTED]),
    )


def _referrals(member: User) -> MemberReferrals:
    made = member.referrals_made.select_related("referee").order_by("-created_at")
    return MemberReferrals(
        code=_related(member, "referral_code"),
        referred_by=_related(member, "referred_by"),
        made=list(made[:LISTED]),
        stats=member_referral_stats(member=member),
    )


def member_360(*, member_id: int) -> Member360:
    """Balance, pending, tier and progress, segment, lots and expiry, recent history,
    campaigns, redemptions and vouchers, referrals made and received, consent."""
    member = _member(member_id)
    account = _related(member, "loyalty_account")
    return Member360(
        member=member,
        ledger=_ledger(account) if account else None,
        referrals=_referrals(member),
    )
