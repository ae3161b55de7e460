"""Reads shared by the portal, the API and the admin."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.db import connection
from django.db.models import Exists, Max, Min, OuterRef, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from loyalty.models import Account, Campaign, Entry, Lot, LotState, Tier
from loyalty.services.campaigns import campaign_audience_q
from loyalty.services.tiers import tier_progress
from loyalty.timing import last_valid_day


def points_expiring(*, account: Account, days: int = 30, as_of: datetime | None = None) -> dict:
    """Available points whose lots expire within ``days``, and the first such day."""
    if account.pk is None:  # not opened yet: nothing can expire
        return {"points": 0, "date": None}
    as_of = as_of or timezone.now()
    soon = Lot.objects.spendable(as_of=as_of).filter(
        account=account, expires_at__lte=as_of + timedelta(days=days)
    )
    totals = soon.order_by().aggregate(points=Sum("remaining"), first=Min("expires_at"))
    first: date | None = last_valid_day(totals["first"]) if totals["first"] else None
    return {"points": totals["points"] or 0, "date": first}


def member_summary(*, account: Account, tiers: list[Tier] | None = None) -> dict:
    """Balance, tier and progress, and points expiring soon: the member at a glance."""
    progress = tier_progress(account=account, tiers=tiers)
    return {
        "account": account,
        "progress": progress,
        "expiring": points_expiring(account=account),
    }


def account_entries(*, account: Account) -> QuerySet[Entry]:
    """A member's history, newest first (served by ``entry_account_recent_idx``)."""
    if account.pk is None:
        return Entry.objects.none()
    return Entry.objects.filter(account=account).order_by("-occurred_at", "-id")


MEMBER_ACCOUNT = """
SELECT a.id, a.balance, a.pending, a.lifetime_earned, a.qualifying_points, a.tier_id,
       a.tier_since, a.created_at, a.updated_at,
       u.id, u.email, u.first_name, u.last_name, u.language, u.email_points_earned,
       t.name, t.rank, t.threshold, t.multiplier, t.benefits, t.retention_days, t.color
FROM loyalty_account a
JOIN accounts_user u ON u.id = a.member_id
LEFT JOIN loyalty_tier t ON t.id = a.tier_id
WHERE a.member_id = %s AND u.is_active AND NOT u.is_staff
"""
ACCOUNT_COLUMNS = (
    "balance",
    "pending",
    "lifetime_earned",
    "qualifying_points",
    "tier_id",
    "tier_since",
    "created_at",
    "updated_at",
)
MEMBER_COLUMNS = ("id", "email", "first_name", "last_name", "language", "email_points_earned")
TIER_COLUMNS = ("name", "rank", "threshold", "multiplier", "benefits", "retention_days", "color")


def _from_db(model: type, fields: dict) -> object:
    # ``Model.from_db`` takes a partial row in the model's field order, not in ours.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in fields]
    return model.from_db("default", names, [fields[name] for name in names])


def member_account_fast(*, member_id: int) -> Account | None:
    """A member's account with the member and tier attached, in one plain query: every API
    event starts with it, and the ORM's query building would cost more than the query.
    PostgreSQL only (psycopg returns ready Python values); elsewhere the ORM does it."""
    if not 0 < member_id < 2**63:
        return None  # no such id can exist (and the databases refuse to compare it)
    if connection.vendor != "postgresql":
        accounts = Account.objects.select_related("member", "tier").filter(
            member_id=member_id, member__is_active=True, member__is_staff=False
        )
        return accounts.first()
    with connection.cursor() as cursor:
        cursor.execute(MEMBER_ACCOUNT, [member_id])
        row = cursor.fetchone()
    if row is None:
        return None
    account_id, rest = row[0], row[1:]
    account = _from_db(
        Account,
        {
            "id": account_id,
            "member_id": rest[8],
            **dict(zip(ACCOUNT_COLUMNS, rest[:8], strict=True)),
        },
    )
    account.member = _from_db(User, dict(zip(MEMBER_COLUMNS, rest[8:14], strict=True)))
    tier = None
    if account.tier_id is not None:
        tier = _from_db(
            Tier, {"id": account.tier_id, **dict(zip(TIER_COLUMNS, rest[14:], strict=True))}
        )
    account.tier = tier
    return account


def campaign_audience(*, campaign: Campaign) -> QuerySet[User]:
    """The members an announcement of ``campaign`` reaches: active, accepted marketing
    emails from an address they confirmed (consent ticked at sign-up by someone who never
    confirmed the address is not the owner's), and paid by the campaign (its tiers and
    segments, the engine's own rules). The dates are the announcement job's: it announces a
    campaign only while it is live."""
    confirmed = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    consenting = User.objects.filter(is_active=True, marketing_consent=True).filter(
        Exists(confirmed)
    )
    return consenting.filter(campaign_audience_q(campaign))


def points_pending_until(*, member_id: int, source: str) -> datetime | None:
    """When the points credited to the member from ``source`` (``event:12``,
    ``referral:7``) that are still pending become available; None if none are pending."""
    lots = Lot.objects.filter(
        account__member_id=member_id, state=LotState.PENDING, entries__source=source
    )
    return lots.aggregate(until=Max("available_at"))["until"]
