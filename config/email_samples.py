"""Sample data for the staff email preview: every member email, rendered as it would be,
in each language, without touching real members."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace as Sample
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User

MARKETING = {"campaign_announcement"}


def _member(language: str) -> User:
    return User(email="sara@example.com", first_name="Sara", last_name="Jones", language=language)


def _context(today: Any, portal: str) -> dict[str, dict[str, Any]]:
    reward = Sample(name="5 € off your next order")
    tier = Sample(name="Gold", benefits="25% more points, free shipping rewards.", color="#b45309")
    return {
        "welcome": {"portal_url": portal},
        "set_password": {
            "set_password_url": f"{portal}accounts/password/reset/key/x-set-password/"
        },
        "invite": {"referrer": _member("en"), "message": "", "link": f"{portal}r/K7QM4XW/"},
        "redemption": {
            "redemption": Sample(reward=reward, points=300),
            "voucher": Sample(code="7KQ4M-XW9TD"),
            "valid_through": today + timedelta(days=90),
            "vouchers_url": portal,
        },
        "referral_rewarded_referrer": {
            "friend": "Nina",
            "how": "link",
            "points": 200,
            "pending_until": today + timedelta(days=14),
            "portal_url": portal,
        },
        "referral_rewarded_referee": {
            "friend": "Sara",
            "how": "invite",
            "points": 100,
            "pending_until": None,
            "portal_url": portal,
        },
        "points_expiring": {
            "points": 120,
            "day": today + timedelta(days=14),
            "balance": 860,
            "portal_url": portal,
        },
        "tier_up": {"tier": tier, "previous": None, "portal_url": portal},
        "tier_down": {
            "tier": Sample(name="Silver", benefits="", color="#64748b"),
            "portal_url": portal,
        },
        "birthday": {"points": 200, "portal_url": portal},
        "points_earned": {
            "event": Sample(order_id="1042"),
            "points": 42,
            "pending": True,
            "pending_until": today + timedelta(days=14),
            "portal_url": portal,
        },
        "campaign_announcement": {
            "campaign": Sample(
                name="Spring double points",
                description="Double points on every purchase for two weeks.",
            ),
            "ends_on": today + timedelta(days=14),
            "portal_url": portal,
            "unsubscribe_url": f"{portal}unsubscribe/sample/",
        },
    }


def email_samples() -> dict[str, dict[str, Any]]:
    return _context(timezone.localdate(), settings.SITE_URL + "/")


def sample_member(language: str) -> User:
    return _member(language)
