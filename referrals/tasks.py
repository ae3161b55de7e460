"""Celery tasks of the referral program: thin wrappers that take ids and call a service."""

from __future__ import annotations

from decimal import Decimal

from celery import Task, shared_task
from django.utils.dateparse import parse_datetime

from accounts.tasks import EMAIL_RETRY
from referrals.emails import invite_email_send, referral_rewarded_emails_send


@shared_task(acks_late=True, **EMAIL_RETRY)
def invite_email_task(self: Task, invite_id: int) -> None:
    invite_email_send(invite_id=invite_id)


@shared_task(acks_late=True, **EMAIL_RETRY)
def referral_rewarded_email_task(self: Task, referral_id: int) -> None:
    referral_rewarded_emails_send(referral_id=referral_id, token=self.request.id or "")


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def referral_qualify_task(
    referee_id: int,
    trigger: str,
    amount: str | None = None,
    at: str | None = None,
    event_id: int | None = None,
) -> None:
    from referrals.services import referral_qualify  # services enqueue these tasks

    referral_qualify(
        referee_id=referee_id,
        trigger=trigger,
        amount=Decimal(amount) if amount is not None else None,
        at=parse_datetime(at) if at else None,
        event_id=event_id,
    )


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def referral_refund_task(refund_event_id: int) -> None:
    from referrals.services import referral_refund

    referral_refund(refund_event_id=refund_event_id)


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def referrals_expire_task(as_of: str | None = None) -> int:
    from referrals.services import referrals_expire

    return referrals_expire(as_of=parse_datetime(as_of) if as_of else None)
