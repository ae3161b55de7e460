"""Celery tasks of the accounts app: thin wrappers that take ids and call one service.

Emails are sent at most once per member: the send log (``loyalty.services.email_log``,
imported inside the tasks) records each one before it goes out."""

from __future__ import annotations

from collections.abc import Callable
from smtplib import SMTPException

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

from accounts.models import User
from accounts.services import member_set_password_email_send, welcome_email_send

# Seconds before a stuck send is interrupted (soft: retried) and then killed: well under
# the send log's claim lease (15 minutes), so a claim that outlives it has a dead sender.
EMAIL_TASK_TIME_LIMIT = 5 * 60
EMAIL_RETRY = {
    "autoretry_for": (SMTPException, ConnectionError, TimeoutError, SoftTimeLimitExceeded),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": EMAIL_TASK_TIME_LIMIT - 30,
    "time_limit": EMAIL_TASK_TIME_LIMIT,
    "bind": True,
}


@shared_task(ignore_result=False)
def broker_ping_task() -> dict[str, str]:
    """Round-trip probe used by /healthz and the test suite: proves a worker consumed
    a message from the broker and could reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "pong", "database": connection.vendor}


def _member_email_once(
    task: Task, user_id: int, template: str, sender: Callable[..., None]
) -> None:
    """Send one of the member's once-only emails (logged by template and member)."""
    from loyalty.services.email_log import sent_email_once  # loyalty builds on accounts

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        sent_email_once(
            recipient=user,
            template=template,
            key=user.pk,
            token=task.request.id or "",
            send=lambda: sender(user=user),
        )


@shared_task(acks_late=True, **EMAIL_RETRY)
def member_set_password_email_task(self: Task, user_id: int) -> None:
    _member_email_once(self, user_id, "set_password", member_set_password_email_send)


@shared_task(acks_late=True, **EMAIL_RETRY)
def welcome_email_task(self: Task, user_id: int) -> None:
    _member_email_once(self, user_id, "welcome", welcome_email_send)
