"""Celery tasks of the accounts app."""

from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task(ignore_result=False)
def broker_ping_task() -> dict[str, str]:
    """Round-trip probe used by /healthz and the test suite: proves a worker consumed
    a message from the broker and could reach the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "pong", "database": connection.vendor}
