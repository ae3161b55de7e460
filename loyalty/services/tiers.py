"""Tier movements. Upgrades happen the moment qualifying points cross a threshold;
downgrades only in the scheduled recompute, after the member held the tier for its
retention period. Every change is recorded in the tier history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.outbox import task_enqueue
from loyalty.lock_objects import account_lock, accounts_lock, joins_transaction
from loyalty.models import Account, Tier, TierChange
from loyalty.tasks import tier_change_email_task

QUALIFYING_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class TierReport:
    recomputed: int
    upgraded: int
    downgraded: int


def tier_for_points(*, points: int, tiers: list[Tier] | None = None) -> Tier | None:
    """The highest tier whose threshold ``points`` reach (tiers ordered by rank)."""
    tiers = tiers if tiers is not None else list(Tier.objects.order_by("rank"))
    reached = [tier for tier in tiers if tier.threshold <= points]
    return reached[-1] if reached else None


def _move(account: Account, tier: Tier, *, direction: str, now: datetime) -> TierChange:
    change = TierChange.objects.create(
        account=account,
        from_tier=account.tier,
        to_tier=tier,
        direction=direction,
        qualifying_points=account.qualifying_points,
    )
    Account.objects.filter(pk=account.pk).update(tier=tier, tier_since=now, updated_at=now)
    account.tier, account.tier_since = tier, now
    task_enqueue(task=tier_change_email_task, args=[change.pk])
    return change


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.rank


@joins_transaction
def tier_upgrade_check(*, account: Account, tiers: list[Tier] | None = None) -> TierChange | None:
    """Move the member up if their qualifying points now reach a higher tier."""
    account = account_lock(account_id=account.pk)
    target = tier_for_points(points=account.qualifying_points, tiers=tiers)
    if target is None or _rank(target) <= _rank(account.tier):
        return None
    return _move(account, target, direction=TierChange.Direction.UP, now=timezone.now())


REFRESH_QUALIFYING = """
UPDATE loyalty_account SET qualifying_points = (
    SELECT CASE WHEN COALESCE(SUM(e.qualifying_points), 0) < 0 THEN 0
                ELSE COALESCE(SUM(e.qualifying_points), 0) END
    FROM loyalty_entry e
    WHERE e.account_id = loyalty_account.id AND e.occurred_at > %s AND e.occurred_at <= %s)
WHERE id IN ({ids})
"""


def _refresh_qualifying(*, ids: list[int], as_of: datetime) -> None:
    """Set-based: the rolling 365-day sum for a batch of (locked) accounts."""
    adapt = connection.ops.adapt_datetimefield_value
    sql = REFRESH_QUALIFYING.format(ids=", ".join(["%s"] * len(ids)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(as_of - QUALIFYING_WINDOW), adapt(as_of), *ids])


def _target_rank(tiers: list[Tier]) -> Case:
    ranks = reversed(tiers)
    whens = [When(qualifying_points__gte=t.threshold, then=Value(t.rank)) for t in ranks]
    return Case(*whens, default=Value(-1), output_field=IntegerField())


def _retention_over(account: Account, as_of: datetime) -> bool:
    if account.tier is None or account.tier_since is None:
        return True
    return account.tier_since + timedelta(days=account.tier.retention_days) <= as_of


def _settle_tier(account: Account, tiers: list[Tier], as_of: datetime) -> str | None:
    target = tier_for_points(points=account.qualifying_points, tiers=tiers)
    if _rank(target) > _rank(account.tier):
        _move(account, target, direction=TierChange.Direction.UP, now=as_of)
        return "up"
    lower = target is not None and _rank(target) < _rank(account.tier)
    if lower and _retention_over(account, as_of):
        _move(account, target, direction=TierChange.Direction.DOWN, now=as_of)
        return "down"
    return None


def _recompute_batch(ids: list[int], tiers: list[Tier], as_of: datetime) -> dict[str, int]:
    counts = {"up": 0, "down": 0}
    with transaction.atomic():
        locked = accounts_lock(account_ids=ids)
        _refresh_qualifying(ids=locked, as_of=as_of)
        moving = (
            Account.objects.filter(pk__in=locked)
            .annotate(target=_target_rank(tiers), current=Coalesce("tier__rank", Value(-1)))
            .exclude(target=F("current"))
            .select_related("tier")
        )
        for account in moving:  # only members whose tier differs from their points
            if moved := _settle_tier(account, tiers, as_of):
                counts[moved] += 1
    return counts


def tiers_recompute(*, as_of: datetime | None = None, batch_size: int = 2000) -> TierReport:
    """Refresh every member's rolling qualifying points (set-based, in batches of locked
    accounts) and move tiers: up at once, down only once the current tier's retention
    period has passed. Safe to run again: a second run moves nobody."""
    as_of = as_of or timezone.now()
    tiers = list(Tier.objects.order_by("rank"))
    counts = {"up": 0, "down": 0}
    done, last = 0, 0
    accounts = Account.objects.order_by("pk").values_list("pk", flat=True)
    while ids := list(accounts.filter(pk__gt=last)[:batch_size]):
        for key, n in _recompute_batch(ids, tiers, as_of).items():
            counts[key] += n
        done, last = done + len(ids), ids[-1]
    return TierReport(done, counts["up"], counts["down"])


def tier_progress(*, account: Account, tiers: list[Tier] | None = None) -> dict[str, object]:
    """Where a member stands: current tier, the next one and the points still needed."""
    tiers = tiers if tiers is not None else list(Tier.objects.order_by("rank"))
    above = [t for t in tiers if t.rank > _rank(account.tier) and t.threshold > 0]
    upcoming = above[0] if above else None
    to_go = max(0, upcoming.threshold - account.qualifying_points) if upcoming else 0
    percent = 100
    if upcoming:
        floor = account.tier.threshold if account.tier else 0
        span = max(1, upcoming.threshold - floor)
        percent = min(100, max(0, (account.qualifying_points - floor) * 100 // span))
    return {"tier": account.tier, "next_tier": upcoming, "points_to_go": to_go, "percent": percent}


def tiers_upgrade_due() -> int:
    """Upgrade members whose qualifying points now reach a higher tier (after pending
    points were released): one query finds them, only they are touched."""
    tiers = list(Tier.objects.order_by("rank"))
    if not tiers:
        return 0
    due = Account.objects.annotate(
        target=_target_rank(tiers), current=Coalesce("tier__rank", Value(-1))
    ).filter(target__gt=F("current"))
    moved = 0
    for account_id in due.values_list("pk", flat=True).iterator(chunk_size=500):
        moved += 1 if tier_upgrade_check(account=Account(pk=account_id), tiers=tiers) else 0
    return moved
