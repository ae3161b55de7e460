"""Demo catalogue and redemptions for ``manage.py seed_demo``: idempotent."""

from __future__ import annotations

from decimal import Decimal

from accounts.models import User
from loyalty.models import Tier
from loyalty.services.ledger import account_for_member
from rewards.errors import RewardRefused
from rewards.models import Reward, RewardKind
from rewards.services import reward_redeem

CATALOGUE = [
    # name, kind, points, value, percent, stock, per-member, min tier rank, image, description
    (
        "5 € off your next order",
        RewardKind.FIXED_DISCOUNT,
        300,
        "5",
        None,
        None,
        None,
        None,
        "discount-5",
        "A 5 € discount on any order over 20 €.",
    ),
    (
        "Free coffee",
        RewardKind.FREE_PRODUCT,
        150,
        "3.50",
        None,
        None,
        4,
        None,
        "coffee",
        "A coffee of your choice at any of our shops.",
    ),
    (
        "Free shipping",
        RewardKind.FREE_SHIPPING,
        200,
        None,
        None,
        None,
        None,
        None,
        "shipping",
        "Free standard delivery on one web shop order.",
    ),
    (
        "10% off one order",
        RewardKind.PERCENT_DISCOUNT,
        450,
        None,
        "10",
        None,
        2,
        None,
        "percent-10",
        "Ten percent off one order, up to 50 € off.",
    ),
    (
        "Donate 5 € to the food bank",
        RewardKind.DONATION,
        400,
        "5",
        None,
        None,
        None,
        None,
        "donation",
        "We give 5 € to the local food bank in your name.",
    ),
    (
        "Canvas tote bag",
        RewardKind.FREE_PRODUCT,
        800,
        "12",
        None,
        25,
        1,
        1,
        "tote",
        "Our organic cotton tote, while stocks last.",
    ),
    (
        "15 € off your next order",
        RewardKind.FIXED_DISCOUNT,
        1200,
        "15",
        None,
        None,
        None,
        1,
        "discount-15",
        "A 15 € discount on any order over 50 €.",
    ),
    (
        "25 € gift card",
        RewardKind.GIFT_CARD,
        2000,
        "25",
        None,
        50,
        None,
        2,
        "gift-card",
        "A gift card for yourself or a friend, valid for a year.",
    ),
    (
        "Early access to the winter sale",
        RewardKind.EXPERIENCE,
        600,
        None,
        None,
        100,
        1,
        2,
        "early-access",
        "Shop the winter sale 48 hours before everyone else.",
    ),
    (
        "20% off one order",
        RewardKind.PERCENT_DISCOUNT,
        1500,
        None,
        "20",
        None,
        1,
        3,
        "percent-20",
        "Twenty percent off one order, for Platinum members.",
    ),
    (
        "Coffee tasting workshop",
        RewardKind.EXPERIENCE,
        2500,
        "40",
        None,
        12,
        1,
        3,
        "workshop",
        "Two hours with our roaster, for two people.",
    ),
]


def _catalogue() -> list[Reward]:
    tiers = {tier.rank: tier for tier in Tier.objects.all()}
    rewards = []
    for order, row in enumerate(CATALOGUE):
        name, kind, points, value, percent, stock, limit, rank, image, text = row
        reward, _created = Reward.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "points_cost": points,
                "description": text,
                "stock": stock,
                "money_value": Decimal(value) if value else None,
                "percent_off": Decimal(percent) if percent else None,
                "per_member_limit": limit,
                "min_tier": tiers.get(rank) if rank else None,
                "static_image": f"img/rewards/{image}.svg",
                "sort_order": order,
            },
        )
        rewards.append(reward)
    return rewards


def seed() -> list[str]:
    rewards = _catalogue()
    coffee = next(r for r in rewards if r.name == "Free coffee")
    for member in User.objects.filter(email__endswith="@vafa.example", is_staff=False):
        account = account_for_member(member=member)
        try:
            reward_redeem(
                account=account, reward=coffee, idempotency_key=f"demo:{member.email}:coffee"
            )
        except RewardRefused:
            continue
    return []
