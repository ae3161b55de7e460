"""Every scheduled job, declared in one place.

The beat schedule is stored with django-celery-beat (staff can change times in the admin);
``config/migrations/0001_beat_schedule.py`` creates it from ``SCHEDULE``. Operators run any
job by hand, or backfill it, with ``manage.py run_job NAME [--as-of ISO]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Job:
    task: str
    crontab: str  # minute hour day-of-month month day-of-week, in the program's time zone
    description: str


SCHEDULE: dict[str, Job] = {
    "expire_points": Job(
        "loyalty.tasks.points_expire_task",
        "5 0 * * *",
        "Expire points whose lots reached their expiry (daily).",
    ),
    "expiry_reminders": Job(
        "loyalty.tasks.expiry_reminders_task",
        "0 9 * * *",
        "Email members about points expiring soon (daily).",
    ),
    "release_pending": Job(
        "loyalty.tasks.pending_release_task",
        "15 * * * *",
        "Release pending points after the return window; upgrade tiers (hourly).",
    ),
    "recompute_tiers": Job(
        "loyalty.tasks.tiers_recompute_task",
        "30 1 * * *",
        "Refresh rolling qualifying points; downgrade after retention (daily).",
    ),
    "birthday_bonuses": Job(
        "loyalty.tasks.birthday_bonuses_task",
        "0 8 * * *",
        "Birthday bonus points, once per member and year (daily).",
    ),
    "expire_vouchers": Job(
        "rewards.tasks.vouchers_expire_task",
        "10 0 * * *",
        "Mark vouchers past their validity expired (daily).",
    ),
    "run_campaigns": Job(
        "loyalty.tasks.campaigns_run_task",
        "*/10 * * * *",
        "Start and end campaigns by date; announce new ones (every 10 minutes).",
    ),
    "expire_referrals": Job(
        "referrals.tasks.referrals_expire_task",
        "20 0 * * *",
        "Expire referrals that did not qualify in time (daily).",
    ),
    "compute_segments": Job(
        "config.tasks.segments_compute_task",
        "40 2 * * *",
        "Score members by recency, frequency and spend; store their RFM segment (daily).",
    ),
    "drain_outbox": Job(
        "config.tasks.outbox_drain_task",
        "* * * * *",
        "Publish tasks whose publish failed when the broker was down (every minute).",
    ),
}


def job_runners() -> dict[str, Callable[[datetime | None], Any]]:
    """The service behind each job, for running it in-process with an as-of time."""
    from config.outbox import outbox_drain
    from loyalty.services.expiry import pending_release, points_expire
    from loyalty.services.notifications import (
        birthday_bonuses_award,
        campaigns_run,
        expiry_reminders_send,
    )
    from loyalty.services.segments import segments_compute
    from loyalty.services.tiers import tiers_recompute, tiers_upgrade_due
    from referrals.services import referrals_expire
    from rewards.services import vouchers_expire

    def release(as_of: datetime | None) -> Any:
        return {"released": pending_release(as_of=as_of), "upgraded": tiers_upgrade_due()}

    return {
        "expire_points": lambda as_of: points_expire(as_of=as_of),
        "expiry_reminders": lambda as_of: expiry_reminders_send(as_of=as_of),
        "release_pending": release,
        "recompute_tiers": lambda as_of: tiers_recompute(as_of=as_of),
        "birthday_bonuses": lambda as_of: birthday_bonuses_award(as_of=as_of),
        "expire_vouchers": lambda as_of: vouchers_expire(as_of=as_of),
        "run_campaigns": lambda as_of: campaigns_run(as_of=as_of),
        "expire_referrals": lambda as_of: referrals_expire(as_of=as_of),
        "compute_segments": lambda as_of: segments_compute(as_of=as_of),
        "drain_outbox": lambda as_of: outbox_drain(),
    }
