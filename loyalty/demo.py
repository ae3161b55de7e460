"""Demo ledger history for ``manage.py seed_demo``: idempotent by entry keys."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from loyalty.models import (
    ApiKey,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CapPeriod,
    EarningRule,
    EntryKind,
    EventType,
    Tier,
)
from loyalty.services.apikeys import api_key_create
from loyalty.services.expiry import pending_release
from loyalty.services.ledger import (
    account_for_member,
    points_adjust,
    points_credit,
)
from loyalty.services.tiers import tiers_recompute
from loyalty.timing import end_of_day, local_date

# (days ago, points, kind) per demo member; spread over the past year.
HISTORY = [
    (340, 120, EntryKind.EARN),
    (250, 85, EntryKind.EARN),
    (160, 240, EntryKind.EARN),
    (90, 60, EntryKind.EARN),
    (40, 150, EntryKind.EARN),
    (12, 45, EntryKind.EARN),
]


def _history(member: User, factor: int) -> None:
    account = account_for_member(member=member)
    now = timezone.now()
    for n, (days_ago, points, kind) in enumerate(HISTORY):
        points_credit(
            account=account,
            points=points * factor,
            kind=kind,
            qualifying=True,
            idempotency_key=f"demo:{member.email}:earn:{n}",
            occurred_at=now - timedelta(days=days_ago),
            source=f"order:D{1000 + n}",
            details={"order_id": f"D{1000 + n}"},
        )
    points_credit(  # seasonal bonus points that expire within the month
        account=account,
        points=50 * factor,
        kind=EntryKind.BONUS,
        idempotency_key=f"demo:{member.email}:bonus",
        occurred_at=now - timedelta(days=20),
        expires_at=end_of_day(local_date(now) + timedelta(days=18)),
        source="campaign:demo",
        details={"campaign": "Autumn double points"},
    )
    points_credit(  # a recent purchase still inside its return window
        account=account,
        points=30 * factor,
        kind=EntryKind.EARN,
        qualifying=True,
        idempotency_key=f"demo:{member.email}:pending",
        occurred_at=now - timedelta(days=3),
        available_at=now + timedelta(days=11),
        source="order:D2000",
        details={"order_id": "D2000"},
    )


TIERS = [
    ("Bronze", 0, 0, "1.00", "Points on every purchase, birthday bonus."),
    ("Silver", 1, 500, "1.10", "10% more points on purchases, early access to sales."),
    ("Gold", 2, 1500, "1.25", "25% more points, free shipping rewards, members-only events."),
    ("Platinum", 3, 4000, "1.50", "50% more points, a personal gift every season."),
]
RULES = [
    ("Purchases", EventType.PURCHASE, "", 0, "1.00", None, CapPeriod.DAY, True),
    ("Welcome bonus", EventType.SIGNUP, "", 100, "0", 1, CapPeriod.LIFETIME, False),
    ("Birthday gift", EventType.BIRTHDAY, "", 200, "0", 1, CapPeriod.YEAR, False),
    ("Complete your profile", EventType.PROFILE, "", 50, "0", 1, CapPeriod.LIFETIME, False),
    ("Product review", EventType.REVIEW, "", 20, "0", 5, CapPeriod.MONTH, True),
    ("Photo review", EventType.PHOTO, "", 30, "0", 3, CapPeriod.MONTH, True),
    ("Survey answered", EventType.SURVEY, "", 25, "0", 2, CapPeriod.MONTH, False),
    (
        "Follow us on Instagram",
        EventType.CUSTOM,
        "instagram-follow",
        15,
        "0",
        1,
        CapPeriod.LIFETIME,
        False,
    ),
]


def _program() -> None:
    for name, rank, threshold, multiplier, benefits in TIERS:
        Tier.objects.update_or_create(
            rank=rank,
            defaults={
                "name": name,
                "threshold": threshold,
                "multiplier": multiplier,
                "benefits": benefits,
            },
        )
    for name, event_type, code, points, per_unit, cap, period, tier in RULES:
        EarningRule.objects.get_or_create(
            event_type=event_type,
            code=code,
            defaults={
                "name": name,
                "points": points,
                "points_per_unit": per_unit,
                "cap_count": cap,
                "cap_period": period,
                "counts_toward_tier": tier,
                "min_amount": 1 if event_type == EventType.PURCHASE else 0,
            },
        )


def _campaigns() -> None:
    now = timezone.now()
    today = local_date(now)
    demos = [
        (
            "Autumn double points",
            CampaignStatus.ACTIVE,
            CampaignKind.MULTIPLIER,
            {
                "multiplier": "2.00",
                "starts_at": now - timedelta(days=10),
                "ends_at": now + timedelta(days=20),
                "bonus_expires_on": today + timedelta(days=50),
                "budget_points": 100_000,
                "member_cap_points": 2000,
                "description": "Double points on every purchase this autumn. Bonus points "
                "are valid for 30 days after the campaign ends.",
            },
        ),
        (
            "Spend 100, get 150 bonus points",
            CampaignStatus.SCHEDULED,
            CampaignKind.SPEND_THRESHOLD,
            {
                "bonus_points": 150,
                "threshold_amount": 100,
                "starts_at": now + timedelta(days=25),
                "ends_at": now + timedelta(days=40),
                "bonus_expiry_days": 60,
                "stackable": True,
                "description": "Spend 100 or more in one purchase and get 150 bonus points.",
            },
        ),
        (
            "Winter review bonus",
            CampaignStatus.DRAFT,
            CampaignKind.FIXED_BONUS,
            {
                "bonus_points": 40,
                "event_types": ["review", "photo"],
                "starts_at": now + timedelta(days=30),
                "ends_at": now + timedelta(days=90),
                "bonus_expiry_days": 30,
                "description": "40 extra points for every review.",
            },
        ),
    ]
    for name, status, kind, fields in demos:
        Campaign.objects.get_or_create(
            name=name, defaults={"status": status, "kind": kind, **fields}
        )


def _api_key() -> list[str]:
    if ApiKey.objects.filter(name="Demo shop").exists():
        return ["api key: 'Demo shop' exists (create another: manage.py create_api_key NAME)"]
    _key, raw = api_key_create(name="Demo shop")
    return [f"api key: {raw}  (Authorization: Api-Key <key>; shown once)"]


def seed() -> list[str]:
    _program()
    _campaigns()
    members = User.objects.filter(email__endswith="@vafa.example", is_staff=False).order_by("pk")
    for factor, member in enumerate(members, start=1):
        _history(member, factor)
    staff = User.objects.filter(email="admin@vafa.example").first()
    first = members.first()
    if staff and first:
        points_adjust(
            account=account_for_member(member=first),
            points=25,
            reason="Welcome gift (demo)",
            staff_user=staff,
            idempotency_key=f"demo:{first.email}:adjust",
        )
    pending_release()
    tiers_recompute()
    return _api_key()
