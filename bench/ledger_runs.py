"""The timed workloads of bench/ledger.py. Each returns plain numbers; timing is wall clock
(``time.perf_counter``) around the whole job, including its own queries for work."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.lock_objects import account_lock
from loyalty.models import Account, Entry, EntryKind, Lot, LotState
from loyalty.services.expiry import points_expire
from loyalty.services.ledger import points_credit

HORDAK_CURRENCY = "EUR"


def credit_points(i: int) -> int:
    """The points of the i-th benchmark credit: varied, deterministic, the same for both."""
    return 10 + (i * 37) % 491


def expire_set_based(*, as_of: datetime, batch_size: int) -> dict[str, Any]:
    start = time.perf_counter()
    report = points_expire(as_of=as_of, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "lots": report.lots,
        "points": report.points,
        "accounts": report.accounts,
        "lots_per_s": report.lots / seconds,
    }


def _naive_expire_lot(*, lot_id: int, account_id: int, now: datetime) -> None:
    """The obvious ORM version, one transaction per lot."""
    with transaction.atomic():
        account_lock(account_id=account_id)
        lot = Lot.objects.get(pk=lot_id)
        points = lot.remaining
        Entry.objects.create(
            account_id=account_id,
            kind=EntryKind.EXPIRE,
            points=-points,
            lot=lot,
            idempotency_key=f"expire:{lot.pk}:{lot.expired}",
            source="expiry",
            occurred_at=lot.expires_at,
        )
        lot.expired += points
        lot.remaining = 0
        lot.state = LotState.EXPIRED
        lot.save(update_fields=["expired", "remaining", "state"])
        Account.objects.filter(pk=account_id).update(balance=F("balance") - points, updated_at=now)


def expire_naive(*, as_of: datetime, limit: int) -> dict[str, Any]:
    """Expire the first ``limit`` due lots (by id) with a per-lot ORM loop."""
    start = time.perf_counter()
    due = Lot.objects.expirable(as_of=as_of).order_by("id").values_list("id", "account_id")
    lots = list(due[:limit])
    for lot_id, account_id in lots:
        _naive_expire_lot(lot_id=lot_id, account_id=account_id, now=timezone.now())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "lots": len(lots), "lots_per_s": len(lots) / seconds}


def ledger_verify() -> dict[str, Any]:
    """``manage.py verify_ledger`` in process (its report captured, not printed)."""
    entries = Entry.objects.count()
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        call_command("verify_ledger", stdout=out, stderr=err)
        consistent = True
    except CommandError:
        consistent = False
    seconds = time.perf_counter() - start
    offences = err.getvalue().splitlines()[:5]
    return {"seconds": seconds, "entries": entries, "consistent": consistent, "offences": offences}


def credits_vafa(*, accounts: list[Account], count: int, tag: str) -> dict[str, Any]:
    """``points_credit`` in a loop, one transaction each, round-robin over ``accounts``."""
    start = time.perf_counter()
    for i in range(count):
        points_credit(
            account=accounts[i % len(accounts)],
            points=credit_points(i),
            kind=EntryKind.EARN,
            idempotency_key=f"bench:credit:{tag}:{i}",
            source="bench",
        )
    seconds = time.perf_counter() - start
    written = Entry.objects.filter(idempotency_key__startswith=f"bench:credit:{tag}:").count()
    assert written == count, (written, count)
    return {"seconds": seconds, "credits": count, "credits_per_s": count / seconds}


def hordak_chart(*, members: int) -> tuple[Any, list[Any]]:
    """A fresh chart of accounts: a liability "Points issued" and one account per member.

    Members' accounts are asset accounts, so that ``issued.transfer_to(member, n)`` (credit
    issued, debit member) raises both balances, as hordak's ``transfer_to`` documents."""
    from hordak.models import Account as HordakAccount
    from hordak.models import AccountType

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE hordak_leg, hordak_transaction, hordak_account CASCADE")
    issued = HordakAccount.objects.create(
        name="Points issued", type=AccountType.liability, code="2"
    )
    accounts = [
        HordakAccount.objects.create(name=f"member {i}", type=AccountType.asset)
        for i in range(members)
    ]
    return issued, accounts


def credits_hordak(*, issued: Any, accounts: list[Any], count: int, tag: str) -> dict[str, Any]:
    """The same credits as hordak transactions: ``transfer_to`` creates one Transaction and
    two Legs in one database transaction; hordak's deferred triggers check they balance."""
    from hordak.models import Transaction
    from moneyed import Money

    start = time.perf_counter()
    for i in range(count):
        issued.transfer_to(
            accounts[i % len(accounts)],
            Money(credit_points(i), HORDAK_CURRENCY),
            description=f"bench:credit:{tag}:{i}",
        )
    seconds = time.perf_counter() - start
    written = Transaction.objects.filter(description__startswith=f"bench:credit:{tag}:").count()
    assert written == count, (written, count)
    return {"seconds": seconds, "credits": count, "credits_per_s": count / seconds}
