"""Back-office jobs (beat schedule in config/migrations): thin wrappers around services,
idempotent, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

JOB = {
    "acks_late": True,
    "autoretry_for": (ConnectionError,),
    "retry_backoff": True,
    "max_retries": 3,
}


@shared_task(**JOB)
def segments_compute_task(as_of: str | None = None) -> int:
    from loyalty.services.segments import segments_compute

    return segments_compute(as_of=parse_datetime(as_of) if as_of else None)


@shared_task(**JOB)
def outbox_drain_task() -> int:
    from config.outbox import outbox_drain

    return outbox_drain()
