"""Celery tasks of the rewards app: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from accounts.tasks import EMAIL_RETRY
from rewards.emails import redemption_email_send


@shared_task(acks_late=True, **EMAIL_RETRY)
def redemption_email_task(redemption_id: int) -> None:
    redemption_email_send(redemption_id=redemption_id)
