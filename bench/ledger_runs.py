"""The timed workloads of bench/ledger.py. Each returns plain numbers; timing is wall clock
(``time.perf_counter``) around the whole job, including its own queries for work."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from bench.ledger_db import insert_row_sql
from loyalty.lock_objects import account_lock
from loyalty.models import Account, Entry, EntryKind, Lot, LotState
from loyalty.services.expiry import points_expire
from loyalty.services.ledger import points_credit


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


ACCOUNT_LOCK = "SELECT * FROM loyalty_account WHERE id = %s FOR UPDATE"
KEY_LOOKUP = "SELECT id FROM loyalty_entry WHERE idempotency_key = %s"
ACCOUNT_ADD = """
UPDATE loyalty_account SET balance = balance + %s, lifetime_earned = lifetime_earned + %s,
    updated_at = %s WHERE id = %s
"""
LOT_GIVEN = {"account_id", "kind", "points", "remaining", "state", "available_at", "expires_at"}
LOT_GIVEN |= {"created_at"}
ENTRY_GIVEN = {"account_id", "kind", "points", "lot_id", "idempotency_key", "occurred_at"}
ENTRY_GIVEN |= {"created_at", "source"}


@dataclass(frozen=True)
class _RawCredit:
    lot_sql: str
    lot_defaults: dict[str, Any]
    entry_sql: str
    entry_defaults: dict[str, Any]


def _raw_credit(raw: _RawCredit, *, account_id: int, points: int, key: str) -> None:
    now = timezone.now()
    common = {"account_id": account_id, "kind": EntryKind.EARN.value, "points": points}
    lot = {"remaining": points, "state": LotState.AVAILABLE.value, "available_at": now}
    lot |= {"expires_at": now + timedelta(days=365), "created_at": now}
    entry = {"idempotency_key": key, "occurred_at": now, "created_at": now, "source": "bench"}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ACCOUNT_LOCK, [account_id])
        cursor.execute(KEY_LOOKUP, [key])
        cursor.execute(raw.lot_sql, {**raw.lot_defaults, **common, **lot})
        lot_id = cursor.fetchone()[0]
        cursor.execute(raw.entry_sql, {**raw.entry_defaults, **common, **entry, "lot_id": lot_id})
        cursor.execute(ACCOUNT_ADD, [points, points, now, account_id])


def credits_raw_sql(*, accounts: list[Account], count: int, tag: str) -> dict[str, Any]:
    """The five statements ``points_credit`` sends (lock, key lookup, lot, entry, balance),
    from a plain cursor in one transaction each: what the database alone costs."""
    raw = _RawCredit(*insert_row_sql(Lot, LOT_GIVEN), *insert_row_sql(Entry, ENTRY_GIVEN))
    start = time.perf_counter()
    for i in range(count):
        account_id = accounts[i % len(accounts)].pk
        _raw_credit(raw, account_id=account_id, points=credit_points(i), key=f"bench:raw:{tag}:{i}")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "credits": count, "credits_per_s": count / seconds}
