"""Demo ledger history for ``manage.py seed_demo``: idempotent by entry keys."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from loyalty.models import EntryKind
from loyalty.services.expiry import pending_release
from loyalty.services.ledger import (
    account_for_member,
    points_adjust,
    points_credit,
    points_debit,
)
from loyalty.timing import end_of_day, local_date

# (days ago, points, kind) per demo member; spread over the past year.
HISTORY = [(340, 120, EntryKind.EARN), (250, 85, EntryKind.EARN), (160, 240, EntryKind.EARN),
           (90, 60, EntryKind.EARN), (40, 150, EntryKind.EARN), (12, 45, EntryKind.EARN)]


def _history(member: User, factor: int) -> None:
    account = account_for_member(member=member)
    now = timezone.now()
    for n, (days_ago, points, kind) in enumerate(HISTORY):
        points_credit(
            account=account, points=points * factor, kind=kind, qualifying=True,
            idempotency_key=f"demo:{member.email}:earn:{n}",
            occurred_at=now - timedelta(days=days_ago), source=f"order:D{1000 + n}",
            details={"order_id": f"D{1000 + n}"},
        )
    points_credit(  # seasonal bonus points that expire within the month
        account=account, points=50 * factor, kind=EntryKind.BONUS,
        idempotency_key=f"demo:{member.email}:bonus",
        occurred_at=now - timedelta(days=20),
        expires_at=end_of_day(local_date(now) + timedelta(days=18)),
        source="campaign:demo", details={"campaign": "Autumn double points"},
    )
    points_credit(  # a recent purchase still inside its return window
        account=account, points=30 * factor, kind=EntryKind.EARN, qualifying=True,
        idempotency_key=f"demo:{member.email}:pending",
        occurred_at=now - timedelta(days=3), available_at=now + timedelta(days=11),
        source="order:D2000", details={"order_id": "D2000"},
    )
    points_debit(
        account=account, points=100, idempotency_key=f"demo:{member.email}:redeem",
        occurred_at=now - timedelta(days=30), source="demo:reward",
        details={"reward": "5 € discount"},
    )


def seed() -> list[str]:
    members = User.objects.filter(email__endswith="@vafa.example", is_staff=False).order_by("pk")
    for factor, member in enumerate(members, start=1):
        _history(member, factor)
    staff = User.objects.filter(email="admin@vafa.example").first()
    first = members.first()
    if staff and first:
        points_adjust(
            account=account_for_member(member=first), points=25, reason="Welcome gift (demo)",
            staff_user=staff, idempotency_key=f"demo:{first.email}:adjust",
        )
    pending_release()
    return []
