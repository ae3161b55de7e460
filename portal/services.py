"""Writes a member makes from the portal: their profile, their privacy choices."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from accounts.managers import mailbox_hash
from accounts.models import ClosedMailbox, LoginTrace, User
from accounts.services import LANGUAGE_CODES, user_consent_apply
from loyalty.models import Account, EventType
from loyalty.services.earning import EventInput, EventOutcome, event_record_once
from loyalty.services.ledger import account_for_member
from referrals.models import Invite, ReferralCode
from rewards.services import vouchers_cancel_for_closing

PROFILE_FIELDS = ("first_name", "last_name", "birthday", "phone")


def profile_complete(user: User) -> bool:
    return all(getattr(user, name) for name in PROFILE_FIELDS)


@transaction.atomic
def member_profile_update(*, user: User, data: dict[str, Any]) -> EventOutcome | None:
    """Save the profile; the first time it is complete, the profile rule's points are
    awarded (once per member, whatever is saved later)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    for name in (*PROFILE_FIELDS, "email_points_earned"):
        setattr(user, name, data[name])
    if data["language"] in LANGUAGE_CODES:
        user.language = data["language"]
    user_consent_apply(user=user, consent=data["marketing_consent"])
    user.save()
    if not profile_complete(user):
        return None
    return event_record_once(
        data=EventInput(
            idempotency_key=f"profile:{user.pk}",
            type=EventType.PROFILE,
            account=account_for_member(member=user),
            occurred_at=timezone.now(),
        )
    )


@transaction.atomic
def member_delete(*, user: User) -> None:
    """Delete a member's personal data but keep the points ledger for accounting: the
    user row is pseudonymized, their referral link stops working, their unused vouchers are
    cancelled (without giving points back), invites they sent (other people's addresses)
    and sign-in traces are removed."""
    user = User.objects.select_for_update().get(pk=user.pk)
    ClosedMailbox.objects.get_or_create(mailbox_hash=mailbox_hash(user.email))
    alias = f"deleted-{user.pk}@deleted.invalid"
    user.email = user.email_canonical = alias
    user.first_name = user.last_name = user.phone = ""
    user.birthday = None
    user.marketing_consent, user.marketing_consent_at = False, None
    user.email_points_earned = False
    user.is_active = False
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.filter(user=user).delete()
    LoginTrace.objects.filter(user=user).delete()
    Invite.objects.filter(referrer=user).delete()
    ReferralCode.objects.filter(member=user).update(is_active=False)
    account_id = Account.objects.filter(member=user).values_list("pk", flat=True).first()
    if account_id is not None:
        vouchers_cancel_for_closing(account_id=account_id)
