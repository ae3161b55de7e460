"""Enrolling members from a shop: one call creates the member and their points account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction

from accounts.managers import email_canonical, email_normalize
from accounts.models import User
from accounts.services import LANGUAGE_CODES
from accounts.tasks import member_set_password_email_task
from config.outbox import task_enqueue
from loyalty.models import Account
from loyalty.services.ledger import account_for_member, account_open


@dataclass(frozen=True)
class Enrollment:
    member: User
    account: Account
    created: bool


def member_enroll(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "",
    birthday: date | None = None,
) -> Enrollment:
    """Enroll by email; an existing member is returned as is. A new member gets an
    email (after commit) with a link to choose a password."""
    email = email_normalize(email)
    if existing := User.objects.filter(email__iexact=email).first():
        return Enrollment(existing, account_for_member(member=existing), created=False)
    try:
        return _create(email, first_name, last_name, language, birthday)
    except IntegrityError:  # enrolled concurrently by another request
        member = User.objects.get(email__iexact=email)
        return Enrollment(member, account_for_member(member=member), created=False)


@transaction.atomic
def _create(email, first_name, last_name, language, birthday) -> Enrollment:
    member = User(
        email=email,
        email_canonical=email_canonical(email),
        first_name=first_name,
        last_name=last_name,
        birthday=birthday,
    )
    if language in LANGUAGE_CODES:
        member.language = language
    member.set_unusable_password()
    member.save()
    EmailAddress.objects.create(user=member, email=email, primary=True, verified=False)
    account = account_open(member=member)
    task_enqueue(task=member_set_password_email_task, args=[member.pk])
    return Enrollment(member, account, created=True)
