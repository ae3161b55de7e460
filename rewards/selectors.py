"""Reads shared by the portal, the API and the admin."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.models import Account
from rewards.codes import voucher_code_normalize
from rewards.models import Redemption, RedemptionStatus, Reward, Voucher


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    affordable: bool
    reason: str = ""
    code: str = ""


def _tier_rank(account: Account | None) -> int:
    return account.tier.rank if account and account.tier else -1


def reward_eligibility(*, reward: Reward, account: Account, redeemed: int) -> Eligibility:
    """Can ``account`` redeem ``reward`` now? (``redeemed``: completed redemptions of it.)"""
    affordable = account.balance >= reward.points_cost
    if reward.min_tier and _tier_rank(account) < reward.min_tier.rank:
        reason = _("For %(tier)s members and above.") % {"tier": reward.min_tier.name}
        return Eligibility(False, affordable, reason, "tier_too_low")
    if reward.per_member_limit is not None and redeemed >= reward.per_member_limit:
        return Eligibility(
            False, affordable, _("You reached the limit for this reward."), "limit_reached"
        )
    if reward.stock is not None and reward.stock == 0:
        return Eligibility(False, affordable, _("Out of stock."), "out_of_stock")
    if not affordable:
        missing = reward.points_cost - account.balance
        reason = _("%(points)s more points needed.") % {"points": missing}
        return Eligibility(False, False, reason, "insufficient_points")
    return Eligibility(True, True)


def rewards_live(*, at: datetime | None = None) -> QuerySet[Reward]:
    return Reward.objects.live(at=at or timezone.now()).select_related("min_tier")


# --- the catalogue, shared by every member's pages --------------------------------------

# Each process keeps the active rewards for a moment: the dashboard asks for them on every
# visit, and they change a few times a day. A save, a delete or a stock change in this
# process drops them at once (catalogue_changed); other processes see it within this many
# seconds. Redeeming always re-reads the reward under a lock.
CATALOGUE_SECONDS = 2.0
_catalogue: dict[str, tuple[float, list[Reward]]] = {}


def rewards_catalogue() -> list[Reward]:
    """Active rewards with their minimum tier, in catalogue order (windows not applied)."""
    held = _catalogue.get("rewards")
    if held and time.monotonic() - held[0] < CATALOGUE_SECONDS:
        return held[1]
    rewards = list(Reward.objects.filter(is_active=True).select_related("min_tier"))
    _catalogue["rewards"] = (time.monotonic(), rewards)
    return rewards


def catalogue_changed(**kwargs: object) -> None:
    _catalogue.clear()


def rewards_affordable(*, account: Account, limit: int, at: datetime | None = None) -> list[Reward]:
    """The first ``limit`` live rewards ``account`` can redeem now. Per-member limits are
    counted (one query) only for rewards that pass every other check."""
    at = at or timezone.now()
    candidates = [
        r
        for r in rewards_catalogue()
        if (r.active_from is None or r.active_from <= at)
        and (r.active_until is None or r.active_until > at)
        and reward_eligibility(reward=r, account=account, redeemed=0).eligible
    ]
    limited = [r.pk for r in candidates if r.per_member_limit is not None]
    counts: dict[int, int] = {}
    if limited:
        mine = Redemption.objects.filter(
            account=account, status=RedemptionStatus.COMPLETED, reward_id__in=limited
        )
        counts = dict(mine.values_list("reward_id").annotate(n=Count("pk")).order_by())
    return [
        r
        for r in candidates
        if reward_eligibility(reward=r, account=account, redeemed=counts.get(r.pk, 0)).eligible
    ][:limit]


def rewards_with_eligibility(
    *, account: Account, at: datetime | None = None
) -> list[tuple[Reward, Eligibility]]:
    """Live rewards with what ``account`` can do about each; two queries in all."""
    counts = Count(
        "redemptions",
        filter=Q(redemptions__account=account, redemptions__status=RedemptionStatus.COMPLETED),
    )
    rewards = rewards_live(at=at).annotate(redeemed=counts)
    return [
        (r, reward_eligibility(reward=r, account=account, redeemed=r.redeemed)) for r in rewards
    ]


def redemptions_of(*, account: Account) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(account=account)
        .select_related("reward", "voucher")
        .order_by("-created_at", "-pk")
    )


def voucher_find(*, code: str) -> Voucher | None:
    return (
        Voucher.objects.select_related("redemption__reward")
        .filter(code=voucher_code_normalize(code))
        .first()
    )
