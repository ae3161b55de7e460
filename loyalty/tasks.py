"""Celery tasks of the loyalty app: thin wrappers that take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from loyalty.services.activities import signup_bonus_award


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def signup_bonus_task(member_id: int) -> None:
    signup_bonus_award(member_id=member_id)
