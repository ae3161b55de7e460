"""Row locks for the ledger, always taken in primary-key order to avoid deadlocks.

Every write to an account's lots or entries happens while holding that account's row
lock, so the account row is the single point of serialization per member. On SQLite the
whole database is locked by ``BEGIN IMMEDIATE`` instead and ``FOR UPDATE`` is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.db import connection, transaction

from loyalty.models import Account

T = TypeVar("T")


def account_lock(*, account_id: int) -> Account:
    """Lock the account row; its member and tier come along (locking only the account)."""
    return (
        Account.objects.select_for_update(of=("self",))
        .select_related("member", "tier")
        .get(pk=account_id)
    )


# The columns a concurrent write may have changed since the caller read the account.
_LIVE_COLUMNS = ("balance", "pending", "lifetime_earned", "qualifying_points", "tier_id")
_ROW_LOCK_SQL = (
    "SELECT balance, pending, lifetime_earned, qualifying_points, tier_id, {extra}"
    " FROM loyalty_account WHERE id = %s FOR UPDATE"
)
_NO_ID = _ROW_LOCK_SQL.format(extra="NULL")
_EVENT_ID = _ROW_LOCK_SQL.format(extra="nextval(pg_get_serial_sequence('loyalty_event', 'id'))")


def account_row_lock(*, account: Account) -> Account:
    """Lock the account row and bring the caller's copy up to date in the same statement.

    Cheaper than ``account_lock`` on the hot path (no new instances), and just as exact:
    balances and the tier are read under the lock, so a purchase that raced ours and moved
    the member up a tier is seen. The member and tier are re-read only if the tier moved."""
    return _row_lock(account, _NO_ID)[0]


def account_lock_for_event(*, account: Account) -> tuple[Account, int | None]:
    """``account_row_lock``, and on PostgreSQL the id of the event about to be recorded,
    drawn from its sequence in the same round trip (the row is inserted last, complete)."""
    return _row_lock(account, _EVENT_ID)


def _row_lock(account: Account, sql: str) -> tuple[Account, int | None]:
    if connection.vendor != "postgresql":
        # SQLite writes under BEGIN IMMEDIATE: nothing can have changed since the read,
        # but the caller's copy may be older than this transaction.
        account.refresh_from_db(fields=list(_LIVE_COLUMNS))
        return account, None
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk])
        row = cursor.fetchone()
    if row is None:
        raise Account.DoesNotExist(f"account {account.pk} does not exist")
    *live, reserved = row
    tier_moved = live[-1] != account.tier_id
    for column, value in zip(_LIVE_COLUMNS, live, strict=True):
        setattr(account, column, value)
    if tier_moved:
        account.refresh_from_db(fields=["tier", "tier_since"])
    return account, reserved


def accounts_lock(*, account_ids: Iterable[int]) -> list[int]:
    """Lock several accounts in id order; return the ids that exist."""
    ids = sorted(set(account_ids))
    locked = Account.objects.select_for_update().filter(pk__any=ids).order_by("pk")
    return list(locked.values_list("pk", flat=True))


def joins_transaction(func: Callable[..., T]) -> Callable[..., T]:
    """Run ``func`` in the caller's transaction, or in a new one when there is none.

    Ledger writes are composed inside bigger ones (an event, a redemption); a savepoint per
    step costs two round trips and buys nothing, because an error anywhere must undo the
    whole step anyway. Validation errors are raised before anything is written, so a
    caller that catches them can go on."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        with transaction.atomic():
            return func(*args, **kwargs)

    return wrapper
