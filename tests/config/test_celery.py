"""A message really travels: producer → broker → worker thread → result backend.

Locally the broker is kombu's filesystem transport (in a private folder per test); in CI
(REDIS_URL set) it is the real Redis, on a queue of its own per test.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from config.env import filesystem_broker_options

pytestmark = pytest.mark.django_db(transaction=True)


def _app(tmp_path: Path) -> Celery:
    app = Celery("vafa-roundtrip")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.task_default_queue = f"roundtrip-{uuid.uuid4().hex}"
    if not settings.REDIS_URL:
        app.conf.broker_transport_options = filesystem_broker_options(tmp_path / "broker")
        app.conf.result_backend = f"file://{tmp_path / 'results'}"
        (tmp_path / "results").mkdir()
    app.autodiscover_tasks(["accounts"], force=True)
    return app


def test_task_round_trip_through_the_real_broker(tmp_path: Path) -> None:
    app = _app(tmp_path)
    ping = app.tasks["accounts.tasks.broker_ping_task"]

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = ping.delay()
        answer = result.get(timeout=20)

    assert answer == {"status": "pong", "database": connection.vendor}
    expected = "redis" if settings.REDIS_URL else "filesystem"
    assert app.connection_for_write().transport_cls == expected
