"""Points the program gives for things members do in the club itself: signing up,
birthdays, completing the profile. Each is an event through the earning engine, so rules,
caps and campaigns apply, with a key that makes it happen once."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from loyalty.models import EventType
from loyalty.services.earning import EventInput, EventOutcome, event_record_once
from loyalty.services.ledger import account_for_member


def _award(member: User, event_type: str, key: str) -> EventOutcome:
    account = account_for_member(member=member)
    data = EventInput(
        idempotency_key=key, type=event_type, account=account, occurred_at=timezone.now()
    )
    return event_record_once(data=data)


def signup_bonus_award(*, member_id: int) -> EventOutcome | None:
    """The sign-up rule's points, once per member, when their email is confirmed."""
    member = User.objects.filter(pk=member_id, is_active=True).first()
    if member is None:
        return None
    return _award(member, EventType.SIGNUP, f"signup:{member.pk}")
