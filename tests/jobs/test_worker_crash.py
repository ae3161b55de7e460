"""A worker process is killed with SIGKILL in the middle of a large expiry run; a new
worker picks the task up again (acks_late + reject on worker lost) and finishes it. Every
expirable point is expired exactly once and the books still balance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from loyalty.models import Account, Entry, EntryKind, Lot, LotState
from loyalty.verification import ledger_offences
from tests.accounts.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 1500
VISIBILITY = 4


def _books(accounts: int) -> int:
    """Accounts with one due and one later lot each, consistent with their entries."""
    now = timezone.now()
    users = [
        UserFactory.build(email=f"crash{i}@example.com", email_canonical=f"crash{i}@example.com")
        for i in range(accounts)
    ]
    for user in users:
        user.password = "!"
    users = type(users[0]).objects.bulk_create(users)
    rows = Account.objects.bulk_create(
        [Account(member=u, balance=30, lifetime_earned=30) for u in users]
    )
    lots, entries = [], []
    for account in rows:
        for n, (points, expires) in enumerate(
            ((20, now - timedelta(days=1)), (10, now + timedelta(days=90)))
        ):
            lot = Lot(
                account=account,
                kind=EntryKind.EARN,
                points=points,
                remaining=points,
                state=LotState.AVAILABLE,
                available_at=now - timedelta(days=200),
                expires_at=expires,
            )
            lots.append(lot)
            entries.append(
                Entry(
                    account=account,
                    kind=EntryKind.EARN,
                    points=points,
                    lot=lot,
                    idempotency_key=f"crash:{account.pk}:{n}",
                    occurred_at=now - timedelta(days=200),
                )
            )
    Lot.objects.bulk_create(lots, batch_size=2000)
    for entry in entries:
        entry.lot_id = entry.lot.pk
    Entry.objects.bulk_create(entries, batch_size=2000)
    return accounts


def _database_url(db: dict) -> str:
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"


def _worker(queue: str, tmp_path: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "VAFA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": _database_url(db),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "CELERY_UNACKED_RESTORE_SECONDS": "1",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_VERSION", None)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "solo",
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    return subprocess.Popen(  # noqa: S603 - our own interpreter running celery
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _expired() -> int:
    return Entry.objects.filter(kind=EntryKind.EXPIRE).count()


def test_killed_worker_loses_and_doubles_nothing(tmp_path: Path) -> None:
    due = _books(ACCOUNTS)
    queue = f"crash-{uuid.uuid4().hex}"
    first = _worker(queue, tmp_path)
    try:
        with warnings.catch_warnings():  # send_task always goes to the broker, as wanted here
            warnings.simplefilter("ignore")
            app.send_task(
                "loyalty.tasks.points_expire_task", kwargs={"batch_size": 10}, queue=queue
            )
        assert _wait(lambda: _expired() > 0, 60), "the first worker never started the job"
        os.killpg(first.pid, signal.SIGKILL)  # mid-run: some batches committed, most not
        first.wait(10)
        partial = _expired()
        assert 0 < partial < due, partial
        second = _worker(queue, tmp_path)
        try:
            assert _wait(lambda: _expired() == due, 120), f"stalled at {_expired()} of {due}"
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(20)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    expired = Entry.objects.filter(kind=EntryKind.EXPIRE)
    assert expired.count() == due
    assert expired.values("lot_id").distinct().count() == due
    assert -sum(expired.values_list("points", flat=True)) == 20 * due
    assert set(Account.objects.values_list("balance", flat=True)) == {10}
    assert ledger_offences() == []
