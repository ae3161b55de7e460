"""The program's rules as the earning engine reads them on every event: active earning
rules, live campaigns (with their tiers) and the tiers, kept in the cache as one snapshot.

Every purchase needs them; they change only when staff edit them. Saving or deleting a
rule, campaign or tier drops the snapshot (``loyalty/handlers.py``), so the next event reads
the database again. Per-campaign counters that must be exact — the budget used — are never
taken from the snapshot: they are read and changed under a row lock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from loyalty.models import LIVE_CAMPAIGN_STATUSES, Campaign, EarningRule, Tier

CACHE_KEY = "loyalty:program:v2"
CACHE_SECONDS = 300


@dataclass(frozen=True)
class Program:
    rules: list[EarningRule]
    campaigns: list[Campaign]
    tiers: list[Tier]  # by rank; for display (tier moves read the table under a lock)


def _load() -> Program:
    rules = list(EarningRule.objects.filter(is_active=True).order_by("pk"))
    campaigns = Campaign.objects.filter(status__in=LIVE_CAMPAIGN_STATUSES).order_by("pk")
    tiers = list(Tier.objects.order_by("rank"))
    return Program(rules, list(campaigns.prefetch_related("tiers")), tiers)


# Each process also keeps the snapshot for a moment, so a burst of events reads neither the
# database nor Redis; an edit in another process is seen within LOCAL_SECONDS.
LOCAL_SECONDS = 2.0
_local: dict[str, tuple[float, Program]] = {}


def program_snapshot() -> Program:
    held = _local.get(CACHE_KEY)
    if held and time.monotonic() - held[0] < LOCAL_SECONDS:
        return held[1]
    program = cache.get(CACHE_KEY)
    if program is None:
        program = _load()
        cache.set(CACHE_KEY, program, CACHE_SECONDS)
    _local[CACHE_KEY] = (time.monotonic(), program)
    return program


def program_changed(**kwargs: object) -> None:
    """Drop the snapshot (connected to saves and deletes of rules, campaigns and tiers)."""
    _local.clear()
    cache.delete(CACHE_KEY)


def rules_at(*, event_type: str, at: datetime, code: str = "") -> EarningRule | None:
    for rule in program_snapshot().rules:
        window_open = rule.active_from is None or rule.active_from <= at
        window_closed = rule.active_until is not None and rule.active_until <= at
        if (
            rule.event_type == event_type
            and rule.code == code
            and window_open
            and not window_closed
        ):
            return rule
    return None


def campaigns_at(*, at: datetime) -> list[Campaign]:
    return [c for c in program_snapshot().campaigns if c.starts_at <= at < c.ends_at]
