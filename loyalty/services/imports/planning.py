"""Planning each row's points with the engine's own rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from loyalty.models import (
    Account,
    Campaign,
    EarningRule,
    EntryKind,
    EventType,
)
from loyalty.services.campaigns import campaign_bonus_expiry, campaign_offers
from loyalty.services.earning import purchase_points, tier_bonus
from loyalty.services.imports.common import Row
from loyalty.timing import program_zone, rolling_expiry

# --- planning the points ------------------------------------------------------------------


@dataclass
class Program:
    rules: list[EarningRule]
    campaigns: list[Campaign]
    budgets: dict[int, int | None] = field(default_factory=dict)
    taken: dict[tuple[int, int], int] = field(default_factory=dict)
    joined: dict[tuple[int, int], int] = field(default_factory=dict)
    segments: dict[int, str] = field(default_factory=dict)  # account id → RFM label
    return_days: int = 0
    zone: Any = None
    expiries: dict[tuple[int | None, date], datetime] = field(default_factory=dict)

    def expiry(self, at: datetime, campaign: Campaign | None = None) -> datetime:
        """When points earned at ``at`` expire (by the campaign's rule when given): the
        same for every row of a local day, so worked out once per day and campaign."""
        key = (campaign.pk if campaign else None, at.astimezone(self.zone).date())
        if (known := self.expiries.get(key)) is None:
            known = self.expiries[key] = (
                campaign_bonus_expiry(campaign, earned_at=at)
                if campaign
                else rolling_expiry(earned_at=at)
            )
        return known

    def rule_at(self, at: datetime) -> EarningRule | None:
        for rule in self.rules:
            if (rule.active_from is None or rule.active_from <= at) and (
                rule.active_until is None or rule.active_until > at
            ):
                return rule
        return None

    def campaigns_at(self, at: datetime) -> list[Campaign]:
        return [c for c in self.campaigns if c.starts_at <= at < c.ends_at]


def program_load(rows: list[Row]) -> Program:
    first = min(r.occurred_at for r in rows)
    last = max(r.occurred_at for r in rows)
    rules = EarningRule.objects.filter(event_type=EventType.PURCHASE, code="", is_active=True)
    campaigns = Campaign.objects.filter(
        status__in=["scheduled", "active"], starts_at__lte=last, ends_at__gt=first
    ).prefetch_related("tiers")
    return Program(
        list(rules),
        list(campaigns),
        return_days=settings.RETURN_WINDOW_DAYS,
        zone=program_zone(),
    )


def _credit(part: str, kind: str, points: int, *, row: Row, now: datetime, **extra: Any) -> dict:
    available_at = extra.pop("available_at")
    expires_at = extra.pop("expires_at")
    if points <= 0 or expires_at <= max(available_at, now):
        return {}
    return {
        "part": part,
        "kind": kind,
        "points": points,
        "available_at": available_at,
        "expires_at": expires_at,
        "pending": available_at > now,
        **extra,
    }


def _grant(program: Program, campaign: Campaign, account_id: int, points: int) -> int:
    key = (campaign.pk, account_id)
    wanted = points
    if campaign.member_cap_points is not None:
        wanted = min(wanted, max(0, campaign.member_cap_points - program.taken.get(key, 0)))
    budget = program.budgets.get(campaign.pk)
    if budget is not None:
        wanted = min(wanted, budget)
        program.budgets[campaign.pk] = budget - wanted
    if wanted > 0:
        program.taken[key] = program.taken.get(key, 0) + wanted
        program.joined[key] = program.joined.get(key, 0) + 1
    return max(0, wanted)


def row_plan(row: Row, account: Account, program: Program, now: datetime) -> str:
    rule = program.rule_at(row.occurred_at)
    if rule is not None and row.currency != rule.currency:
        return _("purchases are accepted in %(currency)s") % {"currency": rule.currency}
    base = purchase_points(rule=rule, amount=row.amount)
    tier = account.tier
    bonus = tier_bonus(base=base, account=account)
    days = program.return_days
    when = {
        "available_at": row.occurred_at + timedelta(days=days) if days else row.occurred_at,
        "expires_at": program.expiry(row.occurred_at),
    }
    row.credits = [
        _credit(
            "base",
            EntryKind.EARN,
            base,
            row=row,
            now=now,
            **when,
            qualifying=bool(rule and rule.counts_toward_tier),
            details={},
        ),
        _credit(
            "tier",
            EntryKind.BONUS,
            bonus,
            row=row,
            now=now,
            **when,
            qualifying=False,
            details={"tier": tier.name if tier else ""},
        ),
    ]
    offers = campaign_offers(
        program.campaigns_at(row.occurred_at),
        event_type=EventType.PURCHASE,
        base=base,
        amount=row.amount,
        tier_id=account.tier_id,
        segment=program.segments.get(account.pk),
    )
    for offer in offers:
        expires_at = program.expiry(row.occurred_at, offer.campaign)
        pending_until = (
            when["available_at"] if when["available_at"] < expires_at else row.occurred_at
        )
        granted = (
            _grant(program, offer.campaign, account.pk, offer.points) if expires_at > now else 0
        )
        row.credits.append(
            _credit(
                f"campaign:{offer.campaign.pk}",
                EntryKind.BONUS,
                granted,
                row=row,
                now=now,
                available_at=pending_until,
                expires_at=expires_at,
                qualifying=False,
                details={"campaign_id": offer.campaign.pk, "campaign": offer.campaign.name},
            )
        )
    row.credits = [c for c in row.credits if c]
    return ""
