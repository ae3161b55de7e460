"""Celery tasks of the rewards app: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import Task, shared_task
from django.utils.dateparse import parse_datetime

from accounts.tasks import EMAIL_RETRY
from rewards.emails import redemption_email_send


@shared_task(acks_late=True, **EMAIL_RETRY)
def redemption_email_task(self: Task, redemption_id: int) -> None:
    redemption_email_send(redemption_id=redemption_id, token=self.request.id or "")


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3)
def vouchers_expire_task(as_of: str | None = None) -> int:
    from rewards.services import vouchers_expire

    return vouchers_expire(as_of=parse_datetime(as_of) if as_of else None)
