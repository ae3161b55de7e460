"""Real threads on separate PostgreSQL connections racing on one account."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone

from loyalty.errors import InsufficientPoints
from loyalty.models import Account, Entry, EntryKind, Lot
from loyalty.services.expiry import points_expire
from loyalty.services.ledger import points_credit, points_debit
from loyalty.verification import ledger_offences
from tests.loyalty.factories import AccountFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers: int, job: Callable[[int], object]) -> list[object]:
    """Start ``workers`` threads at the same instant; return each one's result or error."""
    barrier = threading.Barrier(workers)
    results: list[object] = [None] * workers

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = job(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def funded(points: int, lots: int = 1, **kwargs) -> Account:
    account = AccountFactory()
    for i in range(lots):
        points_credit(
            account=account,
            points=points // lots,
            kind=EntryKind.EARN,
            idempotency_key=f"fund-{account.pk}-{i}",
            **kwargs,
        )
    return account


def test_concurrent_debits_never_overspend() -> None:
    account = funded(1000, lots=4)

    results = race(20, lambda i: points_debit(account=account, points=60, idempotency_key=f"d{i}"))

    won = [r for r in results if isinstance(r, Entry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(won), len(refused)) == (16, 4)
    account.refresh_from_db()
    assert account.balance == 1000 - 16 * 60
    assert ledger_offences() == []


def test_twenty_debits_against_one_affordable_reward() -> None:
    account = funded(100)

    results = race(20, lambda i: points_debit(account=account, points=60, idempotency_key=f"r{i}"))

    assert sum(isinstance(r, Entry) for r in results) == 1
    assert sum(isinstance(r, InsufficientPoints) for r in results) == 19
    account.refresh_from_db()
    assert account.balance == 40


def test_concurrent_credits_with_one_key_make_one_entry() -> None:
    account = AccountFactory()

    def credit(_: int) -> Entry:
        return points_credit(
            account=account, points=25, kind=EntryKind.EARN, idempotency_key="order-77"
        )

    results = race(10, credit)

    assert all(isinstance(r, Entry) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Entry.objects.filter(idempotency_key="order-77").count() == 1
    account.refresh_from_db()
    assert account.balance == 25


def test_expiry_racing_with_debits_loses_and_doubles_nothing() -> None:
    now = timezone.now()
    accounts = [AccountFactory() for _ in range(6)]
    for account in accounts:
        for i in range(10):
            expires = now + timedelta(seconds=2) if i % 2 else now + timedelta(days=30)
            points_credit(
                account=account,
                points=10,
                kind=EntryKind.EARN,
                idempotency_key=f"{account.pk}-{i}",
                expires_at=expires,
            )
    as_of = now + timedelta(seconds=3)

    def job(i: int) -> object:
        if i == 0:
            return points_expire(as_of=as_of, batch_size=2)
        account = accounts[i % len(accounts)]
        return points_debit(account=account, points=15, idempotency_key=f"spend-{i}")

    results = race(12, job)

    assert not [r for r in results if isinstance(r, Exception | type(None))], results
    expired = -sum(Entry.objects.filter(kind=EntryKind.EXPIRE).values_list("points", flat=True))
    spent = -sum(Entry.objects.filter(kind=EntryKind.REDEEM).values_list("points", flat=True))
    left = sum(
        Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", flat=True)
    )
    assert spent == 11 * 15
    assert expired + spent + left == 600
    assert points_expire(as_of=as_of).lots == 0
    assert ledger_offences() == []


def test_database_refuses_to_update_or_delete_ledger_entries() -> None:
    account = funded(50)
    entry = Entry.objects.get(account=account)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(points=5000)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM loyalty_entry")

    assert Entry.objects.get(pk=entry.pk).points == 50
    assert Lot.objects.get(account=account).remaining == 50
