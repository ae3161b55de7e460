"""Celery tasks of the accounts app: thin wrappers that take ids and call one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import connection

from accounts.models import User
from accounts.services import member_set_password_email_send, welcome_email_send

EMAIL_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(ignore_result=False)
def broker_ping_task() -> dict[str, str]:
    """Round-trip probe used by /healthz and the test suite: proves a worker consumed
    a message from the broker and could reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "pong", "database": connection.vendor}


@shared_task(acks_late=True, **EMAIL_RETRY)
def member_set_password_email_task(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        member_set_password_email_send(user=user)


@shared_task(acks_late=True, **EMAIL_RETRY)
def welcome_email_task(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        welcome_email_send(user=user)
