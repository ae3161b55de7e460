"""Data for the web benchmarks (events API, CSV import, portal, locust): a loyalty program
with members, a ledger, tiers, a purchase rule, one live campaign, rewards, referral codes,
an API key and signed-in sessions.

The members and their ledger come from :func:`bench.ledger_db.ledger_load` (users,
accounts, one ``earn`` lot and entry per credit, consistent for ``verify_ledger``); the
program is created with the ORM (a few rows) and the per-member extras with
``INSERT … SELECT`` / ``UPDATE`` in SQL. With ``due_fraction`` 0 every lot is still valid:
lots were earned over the last 365 days, so the oldest expire within days (the dashboard's
"expiring soon" has something to show).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction

from bench.ledger_db import Scale, database_settle, insert_select, ledger_load

# Tiers of the demo program (name, rank, qualifying threshold, multiplier).
TIERS = [
    ("Bronze", 0, 0, "1.00"),
    ("Silver", 1, 500, "1.10"),
    ("Gold", 2, 1500, "1.25"),
    ("Platinum", 3, 4000, "1.50"),
]
# Rewards without stock, member limit or tier lock, so a redemption only needs points.
REWARDS = [("Free coffee", 150), ("5 € off", 300), ("Free shipping", 400), ("Tote bag", 900)]
CAMPAIGN = "Bench double points"


@dataclass(frozen=True)
class Program:
    api_key: str
    campaign_id: int
    reward_ids: list[int]


def web_load(*, members: int, lots: int, now: datetime) -> dict[str, int]:
    """Members, accounts and ``lots`` earn entries (every lot still valid), then tiers by
    qualifying points and a referral code per member. Returns row counts."""
    rows = ledger_load(Scale(members, lots, 0.0, now), now=now)
    with transaction.atomic():
        tiers = _tiers()
        rows["accounts_tiered"] = _accounts_tier(tiers, now)
        rows["referral_codes"] = _referral_codes(now)
    database_settle()
    return rows


def _tiers() -> list[Any]:
    from loyalty.models import Tier

    Tier.objects.all().delete()
    return [
        Tier.objects.create(name=name, rank=rank, threshold=threshold, multiplier=multiplier)
        for name, rank, threshold, multiplier in TIERS
    ]


def _accounts_tier(tiers: list[Any], now: datetime) -> int:
    """Every lot was earned in the last 365 days: qualifying points = lifetime points, and
    the tier is the highest one whose threshold they reach."""
    cases = " ".join(
        f"WHEN lifetime_earned >= {t.threshold} THEN {t.pk}"
        for t in sorted(tiers, key=lambda t: -t.threshold)
    )
    sql = f"""
        UPDATE loyalty_account SET qualifying_points = lifetime_earned,
            tier_id = CASE {cases} END, tier_since = %(now)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now})
        return cursor.rowcount


def referral_code(member_id: int) -> str:
    return f"B{member_id:06d}"


def _referral_codes(now: datetime) -> int:
    from referrals.models import ReferralCode

    exprs = {"member_id": "id", "code": "'B' || lpad(id::text, 6, '0')", "created_at": "%(now)s"}
    return insert_select(ReferralCode, exprs, "accounts_user", {"now": now})


def program_create(*, now: datetime, campaign_budget: int = 10**9) -> Program:
    """The purchase rule (1 point per euro, from 1 €), one live double-points campaign with
    a budget and a member cap (so its budget row lock and participation rows are on the
    path of every purchase), four rewards (each created once) and a new API key."""
    from loyalty.models import Campaign, CampaignKind, CampaignStatus, EarningRule, EventType
    from loyalty.services.apikeys import api_key_create
    from rewards.models import Reward, RewardKind

    with transaction.atomic():
        EarningRule.objects.get_or_create(
            event_type=EventType.PURCHASE,
            code="",
            defaults={
                "name": "Purchases",
                "points_per_unit": Decimal("1.00"),
                "min_amount": Decimal("1.00"),
                "currency": "EUR",
                "counts_toward_tier": True,
            },
        )
        campaign, _created = Campaign.objects.get_or_create(
            name=CAMPAIGN,
            defaults={
                "status": CampaignStatus.ACTIVE,
                "kind": CampaignKind.MULTIPLIER,
                "multiplier": Decimal("2.00"),
                "starts_at": now - timedelta(days=10),
                "ends_at": now + timedelta(days=20),
                "bonus_expiry_days": 60,
                "budget_points": campaign_budget,
                "member_cap_points": 5000,
                "announce": False,
            },
        )
        rewards = [
            Reward.objects.get_or_create(
                name=name,
                defaults={"kind": RewardKind.FREE_PRODUCT, "points_cost": cost, "sort_order": n},
            )[0]
            for n, (name, cost) in enumerate(REWARDS)
        ]
        _key, raw = api_key_create(name=f"Bench shop {now.isoformat()}")
    return Program(raw, campaign.pk, [r.pk for r in rewards])


def sessions_create(member_ids: list[int]) -> list[str]:
    """A signed-in session per member, as ``login()`` stores it (database sessions);
    returns the session keys, valid for the SECRET_KEY of this process."""
    from accounts.models import User

    users = User.objects.in_bulk(member_ids)
    keys = []
    for member_id in member_ids:
        user = users[member_id]
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        keys.append(store.session_key)
    return keys


def members_sample(count: int, *, min_balance: int = 0, seed: int = 1) -> list[int]:
    """``count`` member ids spread over the table (deterministic), each with at least
    ``min_balance`` available points."""
    sql = """
        SELECT member_id FROM loyalty_account WHERE balance >= %s
        ORDER BY hashint8extended(id, %s) LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [min_balance, seed, count])
        return [row[0] for row in cursor.fetchall()]
