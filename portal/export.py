"""Download my data: everything Vafa keeps about a member, as JSON."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from loyalty.models import Account, Entry, Event
from referrals.models import Invite, Referral
from rewards.models import Redemption


def _profile(user: User) -> dict[str, Any]:
    fields = (
        "email",
        "first_name",
        "last_name",
        "birthday",
        "phone",
        "language",
        "marketing_consent",
        "marketing_consent_at",
        "email_points_earned",
        "date_joined",
    )
    return {name: getattr(user, name) for name in fields}


def _ledger(account: Account | None) -> list[dict[str, Any]]:
    if account is None:
        return []
    rows = Entry.objects.filter(account=account).order_by("occurred_at", "id")
    return list(
        rows.values("kind", "points", "pending_points", "source", "details", "note", "occurred_at")
    )


def member_export(*, user: User) -> dict[str, Any]:
    account = Account.objects.filter(member=user).first()
    return {
        "profile": _profile(user),
        "points": None
        if account is None
        else {
            "balance": account.balance,
            "pending": account.pending,
            "lifetime_earned": account.lifetime_earned,
            "tier": account.tier.name if account.tier else None,
        },
        "ledger": _ledger(account),
        "events": list(
            Event.objects.filter(account=account)
            .order_by("occurred_at")
            .values("type", "order_id", "amount", "currency", "occurred_at", "points_awarded")
        ),
        "redemptions": list(
            Redemption.objects.filter(account=account)
            .order_by("created_at")
            .values(
                "reward__name",
                "points",
                "status",
                "created_at",
                "voucher__code",
                "voucher__status",
                "voucher__expires_at",
            )
        ),
        "referrals_made": list(
            Referral.objects.filter(referrer=user).values("status", "created_at", "referrer_points")
        ),
        "referred_by": list(Referral.objects.filter(referee=user).values("status", "created_at")),
        "invites_sent": list(Invite.objects.filter(referrer=user).values("email", "created_at")),
    }
