"""Celery tasks of the loyalty app: thin wrappers that take ids (or nothing), call one
service, and can run twice without changing anything the second time. Services are
imported inside the tasks because services enqueue these tasks."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from accounts.tasks import EMAIL_RETRY as ACCOUNT_EMAIL_RETRY

EMAIL_RETRY: dict[str, Any] = {**ACCOUNT_EMAIL_RETRY, "acks_late": True}
JOB = {
    "acks_late": True,
    "autoretry_for": (ConnectionError,),
    "retry_backoff": True,
    "max_retries": 3,
}


def _as_of(value: str | None):
    return parse_datetime(value) if value else None


# --- jobs (beat schedule in config/migrations) -----------------------------------------------


@shared_task(**JOB)
def points_expire_task(as_of: str | None = None, batch_size: int = 2000) -> dict[str, int]:
    from loyalty.services.expiry import points_expire

    report = points_expire(as_of=_as_of(as_of), batch_size=batch_size)
    return {"lots": report.lots, "points": report.points, "accounts": report.accounts}


@shared_task(**JOB)
def pending_release_task(as_of: str | None = None) -> dict[str, int]:
    from loyalty.services.expiry import pending_release
    from loyalty.services.tiers import tiers_upgrade_due

    report = pending_release(as_of=_as_of(as_of))
    return {"lots": report.lots, "points": report.points, "upgraded": tiers_upgrade_due()}


@shared_task(**JOB)
def tiers_recompute_task(as_of: str | None = None) -> dict[str, int]:
    from loyalty.services.tiers import tiers_recompute

    report = tiers_recompute(as_of=_as_of(as_of))
    return {"accounts": report.recomputed, "up": report.upgraded, "down": report.downgraded}


@shared_task(**JOB)
def expiry_reminders_task(as_of: str | None = None, batch_size: int = 1000) -> int:
    from loyalty.services.notifications import expiry_reminders_send

    return expiry_reminders_send(as_of=_as_of(as_of), batch_size=batch_size)


@shared_task(**JOB)
def birthday_bonuses_task(as_of: str | None = None) -> int:
    from loyalty.services.notifications import birthday_bonuses_award

    return birthday_bonuses_award(as_of=_as_of(as_of))


@shared_task(**JOB)
def campaigns_run_task(as_of: str | None = None) -> dict[str, int]:
    from loyalty.services.notifications import campaigns_run

    return campaigns_run(as_of=_as_of(as_of))


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def signup_bonus_task(member_id: int) -> None:
    from loyalty.services.activities import signup_bonus_award

    signup_bonus_award(member_id=member_id)


# --- emails ------------------------------------------------------------------------------------
# Each email claims its send-log row before sending (``token``: this task's id, which a
# redelivery after a crash keeps) and confirms it after: a second run sends nothing.


def _token(task: Task) -> str:
    return task.request.id or ""


@shared_task(**EMAIL_RETRY)
def expiry_reminder_email_task(self: Task, reminder_id: int) -> None:
    from loyalty.services.notifications import expiry_reminder_email

    expiry_reminder_email(reminder_id=reminder_id, token=_token(self))


@shared_task(**EMAIL_RETRY, rate_limit=settings.ANNOUNCEMENT_EMAIL_RATE_LIMIT or None)
def announcement_email_task(self: Task, delivery_id: int) -> None:
    from loyalty.services.notifications import announcement_email

    announcement_email(delivery_id=delivery_id, token=_token(self))


@shared_task(**EMAIL_RETRY)
def tier_change_email_task(self: Task, change_id: int) -> None:
    from loyalty.emails import tier_change_email_send

    tier_change_email_send(change_id=change_id, token=_token(self))


@shared_task(**EMAIL_RETRY)
def birthday_email_task(self: Task, event_id: int) -> None:
    from loyalty.emails import birthday_email_send

    birthday_email_send(event_id=event_id, token=_token(self))


@shared_task(**EMAIL_RETRY)
def points_earned_email_task(self: Task, event_id: int) -> None:
    from loyalty.emails import points_earned_email_send

    points_earned_email_send(event_id=event_id, token=_token(self))
