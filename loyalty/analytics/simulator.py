"""Campaign simulator: what a campaign would have given over the last comparable period.

The period has the campaign's length and ends now. Its real events of the campaign's
eligible types are read in bounded batches (oldest first, so the budget runs out the way
it would have), and each goes through the earning engine's own functions: the base
points of today's earning rule (``purchase_points`` / the rule's fixed points), then
``campaign_points`` with the member's *current* tier and RFM segment; the per-member cap
and the total budget are applied as ``campaign_grant`` would. Other campaigns are ignored
(the estimate is for this campaign alone) and so are earning-rule caps."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from loyalty.models import Campaign, EarningRule, Event, EventType
from loyalty.services.campaigns import campaign_points
from loyalty.services.earning import purchase_points, rule_active

BATCH = 2000
COLUMNS = (
    "pk",
    "occurred_at",
    "type",
    "account_id",
    "amount",
    "account__tier_id",
    "account__segment__label",
)


@dataclass(frozen=True)
class Simulation:
    start: datetime
    end: datetime
    events: int
    qualifying: int
    members: int
    points: int
    held_by_member_cap: int
    held_by_budget: int
    liability: Decimal
    currency: str


@dataclass
class _Tally:
    campaign: Campaign
    rules: dict[str, EarningRule | None]
    events: int = 0
    qualifying: int = 0
    points: int = 0
    held_by_cap: int = 0
    held_by_budget: int = 0
    per_member: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def base(self, event_type: str, amount: Decimal | None) -> int:
        rule = self.rules.get(event_type)
        if event_type == EventType.PURCHASE:
            return purchase_points(rule=rule, amount=amount or Decimal(0))
        return rule.points if rule else 0

    def add(self, row: tuple) -> None:
        _pk, _at, event_type, account_id, amount, tier_id, segment = row
        self.events += 1
        wanted = campaign_points(
            self.campaign,
            event_type=event_type,
            base=self.base(event_type, amount),
            amount=amount,
            tier_id=tier_id,
            segment=segment,
        )
        if wanted > 0:
            self.grant(account_id, wanted)

    def grant(self, account_id: int, wanted: int) -> None:
        self.qualifying += 1
        cap = self.campaign.member_cap_points
        room = wanted if cap is None else max(0, cap - self.per_member[account_id])
        allowed = min(wanted, room)
        budget = self.campaign.budget_points
        granted = allowed if budget is None else max(0, min(allowed, budget - self.points))
        self.held_by_cap += wanted - allowed
        self.held_by_budget += allowed - granted
        self.points += granted
        if granted:
            self.per_member[account_id] += granted


def _period(campaign: Campaign, as_of: datetime) -> tuple[datetime, datetime]:
    return as_of - (campaign.ends_at - campaign.starts_at), as_of


def _rules(event_types: list[str], at: datetime) -> dict[str, EarningRule | None]:
    return {event_type: rule_active(event_type=event_type, at=at) for event_type in event_types}


def _batches(event_types: list[str], start: datetime, end: datetime, size: int):
    """Rows of the period's events in (occurred_at, id) order, ``size`` at a time."""
    events = Event.objects.filter(type__in=event_types, occurred_at__gte=start, occurred_at__lt=end)
    events = events.order_by("occurred_at", "pk")
    after: Q = Q()
    while rows := list(events.filter(after).values_list(*COLUMNS)[:size]):
        yield rows
        last_pk, last_at = rows[-1][0], rows[-1][1]
        after = Q(occurred_at__gt=last_at) | Q(occurred_at=last_at, pk__gt=last_pk)


def campaign_simulate(
    *, campaign: Campaign, as_of: datetime | None = None, batch_size: int = BATCH
) -> Simulation:
    """Estimate the bonus points and liability ``campaign`` would have produced."""
    start, end = _period(campaign, as_of or timezone.now())
    prefetch_related_objects([campaign], "tiers")  # eligibility reads them for every event
    event_types = [t for t in campaign.eligible_event_types if t != EventType.REFUND]
    tally = _Tally(campaign=campaign, rules=_rules(event_types, end))
    for rows in _batches(event_types, start, end, batch_size):
        for row in rows:
            tally.add(row)
    return Simulation(
        start=start,
        end=end,
        events=tally.events,
        qualifying=tally.qualifying,
        members=len(tally.per_member),
        points=tally.points,
        held_by_member_cap=tally.held_by_cap,
        held_by_budget=tally.held_by_budget,
        liability=(tally.points * settings.POINT_VALUE).quantize(Decimal("0.01")),
        currency=settings.DEFAULT_CURRENCY,
    )
