from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    return [f"vafa database: {settings.DATABASES['default']['ENGINE']}"]


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """A stopped clock at ``NOW``; ``clock.move_to(...)`` travels."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fast_passwords(settings: pytest.FixtureRequest) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_tasks() -> None:
    """Tasks run inline in tests of services and views. Tests of the real broker and worker
    build their own Celery app (tests/config/test_celery.py, tests/jobs/); an embedded
    worker makes its app the current and default one, so each test starts with ours again
    (tasks declared with ``shared_task`` resolve to the current app)."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    app.set_current()
    app.set_default()


@pytest.fixture(autouse=True)
def _english_by_default() -> Iterator[None]:
    """Requests activate the visitor's language for the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Rate-limit counters, the program snapshot and the reward catalogue live in caches;
    every test starts without them (a rolled-back test sends no signal to drop them)."""
    from loyalty.services.program import program_changed
    from rewards.selectors import catalogue_changed

    cache.clear()
    program_changed()
    catalogue_changed()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`postgres` and `redis` tests need the real services; elsewhere they skip, saying why."""
    from django.conf import settings

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, concurrency, triggers); CI runs it via .ci/run")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL); CI runs it via .ci/run")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write where the suite ran (read by .ci/run, which insists on PostgreSQL and Redis)."""
    report = os.environ.get("VAFA_TEST_REPORT")
    if not report or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if session.config.option.markexpr == "browser":
        return  # the separate browser run keeps the main run's report
    from django.conf import settings

    vendor = connection.vendor
    broker = "redis" if settings.CELERY_BROKER_URL.startswith("redis") else "filesystem"
    lines = [f"database={vendor}", f"broker={broker}", f"collected={session.testscollected}"]
    Path(report).write_text("\n".join(lines) + "\n")
