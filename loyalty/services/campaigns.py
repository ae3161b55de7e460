"""Bonus campaigns: which apply to an event, how much they give, and the caps.

Selection is pure (no writes); granting happens under the member's account lock and, for
campaigns with a budget, the campaign row lock (always taken after the account lock, so
the lock order is fixed). The budget is spent with a conditional update whose row count is
checked: it can never be overshot, however many events race for it."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from loyalty.lock_objects import joins_transaction
from loyalty.models import (
    LIVE_CAMPAIGN_STATUSES,
    Account,
    Campaign,
    CampaignKind,
    CampaignStatus,
    MemberSegment,
)
from loyalty.services.program import campaigns_at, program_changed
from loyalty.timing import end_of_day, local_date, rolling_expiry


@dataclass(frozen=True)
class CampaignOffer:
    campaign: Campaign
    points: int


def floor_points(value: Decimal) -> int:
    """Points are whole numbers, always rounded down."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def campaigns_live(*, at: datetime) -> list[Campaign]:
    """Campaigns that apply to events occurring at ``at`` (from the program snapshot)."""
    return campaigns_at(at=at)


def campaigns_segment(*, campaigns: list[Campaign], account_id: int) -> str | None:
    """The member's RFM segment, read (one query) only if a live campaign targets segments."""
    if not any(campaign.target_segments for campaign in campaigns):
        return None
    labels = MemberSegment.objects.filter(account_id=account_id).values_list("label", flat=True)
    return labels.first()


@dataclass(frozen=True)
class MemberTarget:
    """One way a campaign narrows who it pays: the member's value ``fact`` must be among
    the campaign's ``values`` (when the campaign lists any). ``account_lookup`` is the same
    fact seen from a member row, for the audience query."""

    fact: str
    account_lookup: str
    values: Callable[[Campaign], Collection[object]]


# Who a campaign pays, the one definition: the earning engine checks it for one member per
# event (``campaign_targets_member``), the announcement selects its audience with it in one
# query (``campaign_audience_q``). Campaigns do not target languages.
MEMBER_TARGETS = (
    MemberTarget("tier_id", "loyalty_account__tier_id", lambda c: c.tier_ids),
    MemberTarget("segment", "loyalty_account__segment__label", lambda c: c.target_segments),
)


def campaign_targets_member(
    campaign: Campaign, *, tier_id: int | None, segment: str | None
) -> bool:
    facts = {"tier_id": tier_id, "segment": segment}
    return all(
        not (values := target.values(campaign)) or facts[target.fact] in values
        for target in MEMBER_TARGETS
    )


def campaign_audience_q(campaign: Campaign) -> Q:
    """The members (``User`` rows) ``campaign`` targets, as a filter."""
    condition = Q()
    for target in MEMBER_TARGETS:
        if values := target.values(campaign):
            condition &= Q(**{f"{target.account_lookup}__in": list(values)})
    return condition


def _eligible(
    campaign: Campaign, *, event_type: str, amount: Decimal | None, tier_id, segment=None
) -> bool:
    if event_type not in campaign.eligible_event_types:
        return False
    if not campaign_targets_member(campaign, tier_id=tier_id, segment=segment):
        return False
    return campaign.min_amount is None or (amount is not None and amount >= campaign.min_amount)


def campaign_points(
    campaign: Campaign,
    *,
    event_type: str,
    base: int,
    amount: Decimal | None,
    tier_id: int | None,
    segment: str | None = None,
) -> int:
    """The bonus ``campaign`` would give to one event, before caps and budget."""
    eligible = _eligible(
        campaign, event_type=event_type, amount=amount, tier_id=tier_id, segment=segment
    )
    if not eligible:
        return 0
    if campaign.kind == CampaignKind.MULTIPLIER:
        return floor_points(Decimal(base) * (campaign.multiplier - 1))
    if campaign.kind == CampaignKind.SPEND_THRESHOLD:
        reached = amount is not None and amount >= campaign.threshold_amount
        return campaign.bonus_points if reached else 0
    return campaign.bonus_points


def campaigns_pick(offers: list[CampaignOffer]) -> list[CampaignOffer]:
    """All stackable campaigns, plus the single best of the others."""
    offers = [offer for offer in offers if offer.points > 0]
    stacking = [offer for offer in offers if offer.campaign.stackable]
    others = sorted(
        (o for o in offers if not o.campaign.stackable),
        key=lambda o: (-o.points, o.campaign.pk),
    )
    return stacking + others[:1]


def campaign_offers(
    campaigns: list[Campaign], *, event_type: str, base: int, amount, tier_id, segment=None
) -> list[CampaignOffer]:
    context = {"event_type": event_type, "base": base, "amount": amount, "tier_id": tier_id}
    offers = [CampaignOffer(c, campaign_points(c, **context, segment=segment)) for c in campaigns]
    return campaigns_pick(offers)


def _member_room(campaign: Campaign, account: Account) -> int | None:
    if campaign.member_cap_points is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT points FROM loyalty_campaignparticipation"
            " WHERE campaign_id = %s AND account_id = %s",
            [campaign.pk, account.pk],
        )
        row = cursor.fetchone()
    return max(0, campaign.member_cap_points - (row[0] if row else 0))


RECORD_PARTICIPATION = """
INSERT INTO loyalty_campaignparticipation (campaign_id, account_id, points, events, first_at)
VALUES (%s, %s, %s, 1, %s)
ON CONFLICT (campaign_id, account_id) DO UPDATE
SET points = loyalty_campaignparticipation.points + EXCLUDED.points,
    events = loyalty_campaignparticipation.events + 1
"""


def _spend_budget(campaign: Campaign, points: int) -> int:
    """Take up to ``points`` from the campaign budget; return what was granted (SQLite;
    PostgreSQL does this inside ``GRANT``)."""
    if campaign.budget_points is None:
        return points
    locked = Campaign.objects.select_for_update().only("budget_points", "budget_used")
    current = locked.get(pk=campaign.pk)
    granted = min(points, current.budget_points - current.budget_used)
    if granted <= 0:
        return 0
    updated = Campaign.objects.filter(
        pk=campaign.pk, budget_used__lte=F("budget_points") - granted
    ).update(budget_used=F("budget_used") + granted)
    return granted if updated == 1 else 0


# On PostgreSQL a grant is one statement: the member's room under the cap, the budget
# spent (its row locked, re-read after any wait), the participation recorded.
GRANT = """
WITH wanted AS (
    SELECT GREATEST(0, LEAST(%(points)s::bigint, COALESCE(
        %(cap)s::bigint - COALESCE((SELECT points FROM loyalty_campaignparticipation
                                    WHERE campaign_id = %(id)s AND account_id = %(account)s), 0),
        %(points)s::bigint))) AS points
), old AS (
    SELECT budget_used, budget_points FROM loyalty_campaign
    WHERE id = %(id)s AND %(budgeted)s::boolean FOR UPDATE
), spend AS (
    UPDATE loyalty_campaign c
    SET budget_used = LEAST(old.budget_points, old.budget_used + wanted.points)
    FROM old, wanted WHERE c.id = %(id)s AND wanted.points > 0
    RETURNING c.budget_used - old.budget_used AS points
), granted AS (
    SELECT CASE WHEN %(budgeted)s::boolean THEN COALESCE((SELECT points FROM spend), 0)
                ELSE (SELECT points FROM wanted) END AS points
), recorded AS (
    INSERT INTO loyalty_campaignparticipation (campaign_id, account_id, points, events, first_at)
    SELECT %(id)s, %(account)s, points, 1, %(now)s::timestamptz FROM granted WHERE points > 0
    ON CONFLICT (campaign_id, account_id) DO UPDATE
    SET points = loyalty_campaignparticipation.points + EXCLUDED.points,
        events = loyalty_campaignparticipation.events + 1
)
SELECT points FROM granted
"""


@joins_transaction
def campaign_grant(*, campaign: Campaign, account: Account, points: int) -> int:
    """Reserve bonus points for one event within the member cap and the total budget.
    The caller holds the member's account lock."""
    if connection.vendor == "postgresql":
        params = {
            "points": points,
            "cap": campaign.member_cap_points,
            "id": campaign.pk,
            "account": account.pk,
            "budgeted": campaign.budget_points is not None,
            "now": timezone.now(),
        }
        with connection.cursor() as cursor:
            cursor.execute(GRANT, params)
            return cursor.fetchone()[0]
    room = _member_room(campaign, account)
    wanted = points if room is None else min(points, room)
    granted = _spend_budget(campaign, wanted) if wanted > 0 else 0
    if granted > 0:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(RECORD_PARTICIPATION, [campaign.pk, account.pk, granted, now])
    return granted


def campaign_bonus_expiry(campaign: Campaign, *, earned_at: datetime) -> datetime:
    """Seasonal bonus points expire on the campaign's date, or N days after earning."""
    if campaign.bonus_expires_on:
        return end_of_day(campaign.bonus_expires_on)
    if campaign.bonus_expiry_days:
        return end_of_day(local_date(earned_at) + timedelta(days=campaign.bonus_expiry_days))
    return rolling_expiry(earned_at=earned_at)


def campaigns_due_status(*, at: datetime | None = None) -> dict[str, int]:
    """Move scheduled campaigns whose start passed to active, and live ones past their end
    to ended (used by the scheduled job; events already honour the dates exactly)."""
    at = at or timezone.now()
    started = Campaign.objects.filter(
        status=CampaignStatus.SCHEDULED, starts_at__lte=at, ends_at__gt=at
    ).update(status=CampaignStatus.ACTIVE, updated_at=at)
    ended = Campaign.objects.filter(status__in=LIVE_CAMPAIGN_STATUSES, ends_at__lte=at).update(
        status=CampaignStatus.ENDED, updated_at=at
    )
    if started or ended:
        # Queryset updates send no save signals: drop the cached program by hand.
        program_changed()
    return {"started": started, "ended": ended}
