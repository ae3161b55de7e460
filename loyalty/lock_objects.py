"""Row locks for the ledger, always taken in primary-key order to avoid deadlocks.

Every write to an account's lots or entries happens while holding that account's row
lock, so the account row is the single point of serialization per member. On SQLite the
whole database is locked by ``BEGIN IMMEDIATE`` instead and ``FOR UPDATE`` is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

from loyalty.models import Account


def account_lock(*, account_id: int) -> Account:
    return Account.objects.select_for_update().get(pk=account_id)


def accounts_lock(*, account_ids: Iterable[int]) -> list[int]:
    """Lock several accounts in id order; return the ids that exist."""
    ids = sorted(set(account_ids))
    locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return list(locked.values_list("pk", flat=True))
