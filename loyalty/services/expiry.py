"""Set-based jobs over many lots: expire points and release pending points.

Work is done in batches of accounts. Each batch is one transaction that first locks its
accounts (in id order, the same lock every ledger write takes), then runs three
statements over *all* the due lots of those accounts: insert the entries, update the
account balances, close the lots. No Python loop per lot, and because the statements read
the lots before they change them, an entry always carries the points the lot really had.

Re-running is harmless: a closed lot is no longer due. Entry keys are derived from the
lot (``expire:<lot>:<expired so far>``, ``release:<lot>``), so even two runs racing on
the same lot cannot both write.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from loyalty.lock_objects import accounts_lock
from loyalty.models import Lot

BATCH_ACCOUNTS = 2000


@dataclass(frozen=True)
class JobReport:
    lots: int
    points: int
    accounts: int


def _in_list(ids: list[int]) -> str:
    # ids are integers from our own query; placeholders keep the statement cacheable.
    return ", ".join(["%s"] * len(ids))


EXPIRE_ENTRIES = """
INSERT INTO loyalty_entry (account_id, kind, points, pending_points, qualifying_points, lot_id,
    idempotency_key, source, details, note, occurred_at, created_at)
SELECT account_id, 'expire', -remaining, 0, 0, id,
    'expire:' || CAST(id AS TEXT) || ':' || CAST(expired AS TEXT), 'expiry', '{{}}', '',
    expires_at, %s
FROM loyalty_lot
WHERE account_id IN ({ids}) AND state = 'available' AND remaining > 0 AND expires_at <= %s
"""
EXPIRE_ACCOUNTS = """
UPDATE loyalty_account SET updated_at = %s, balance = balance - s.total
FROM (
    SELECT account_id, SUM(remaining) AS total FROM loyalty_lot
    WHERE account_id IN ({ids}) AND state = 'available' AND remaining > 0 AND expires_at <= %s
    GROUP BY account_id
) AS s
WHERE loyalty_account.id = s.account_id
"""
EXPIRE_LOTS = """
UPDATE loyalty_lot SET expired = expired + remaining, remaining = 0, state = 'expired'
WHERE account_id IN ({ids}) AND state = 'available' AND remaining > 0 AND expires_at <= %s
"""

RELEASE_ENTRIES = """
INSERT INTO loyalty_entry (account_id, kind, points, pending_points, qualifying_points, lot_id,
    idempotency_key, source, details, note, occurred_at, created_at)
SELECT account_id, 'release', remaining, -remaining,
    CASE WHEN qualifying THEN remaining ELSE 0 END, id,
    'release:' || CAST(id AS TEXT), 'release', '{{}}', '', available_at, %s
FROM loyalty_lot
WHERE account_id IN ({ids}) AND state = 'pending' AND available_at <= %s
"""
RELEASE_ACCOUNTS = """
UPDATE loyalty_account SET updated_at = %s,
    balance = balance + s.total, pending = pending - s.total,
    qualifying_points = qualifying_points + s.qualifying
FROM (
    SELECT account_id, SUM(remaining) AS total,
        SUM(CASE WHEN qualifying THEN remaining ELSE 0 END) AS qualifying
    FROM loyalty_lot
    WHERE account_id IN ({ids}) AND state = 'pending' AND available_at <= %s
    GROUP BY account_id
) AS s
WHERE loyalty_account.id = s.account_id
"""
RELEASE_LOTS = """
UPDATE loyalty_lot SET state = 'available'
WHERE account_id IN ({ids}) AND state = 'pending' AND available_at <= %s
"""


EXPIRE = (EXPIRE_ENTRIES, EXPIRE_ACCOUNTS, EXPIRE_LOTS)
RELEASE = (RELEASE_ENTRIES, RELEASE_ACCOUNTS, RELEASE_LOTS)


def _apply(statements: tuple[str, str, str], *, ids: list[int], as_of: datetime) -> int:
    """Run one job's three statements over the due lots of ``ids`` (already locked)."""
    adapt = connection.ops.adapt_datetimefield_value  # SQLite stores text in its own format
    now, as_of = adapt(timezone.now()), adapt(as_of)
    entries, accounts, lots = (sql.format(ids=_in_list(ids)) for sql in statements)
    with connection.cursor() as cursor:
        cursor.execute(entries, [now, *ids, as_of])
        written = cursor.rowcount
        cursor.execute(accounts, [now, *ids, as_of])
        cursor.execute(lots, [*ids, as_of])
    return written


def account_expire_due(*, account_id: int, as_of: datetime) -> int:
    """Expire one account's overdue lots; the caller holds the account's lock.

    Debits call this first, so a lot past its expiry is never spent even when the daily
    job has not run yet."""
    if not Lot.objects.expirable(as_of=as_of).filter(account_id=account_id).exists():
        return 0
    return _apply(EXPIRE, ids=[account_id], as_of=as_of)


def _due_accounts(queryset, *, after: int, limit: int) -> list[int]:
    ids = queryset.filter(account_id__gt=after).order_by("account_id").values_list("account_id")
    return list(ids.distinct()[:limit].values_list("account_id", flat=True))


def _report(queryset) -> JobReport:
    totals = queryset.aggregate(
        lots=Count("id"), points=Sum("remaining"), accounts=Count("account", distinct=True)
    )
    return JobReport(totals["lots"], totals["points"] or 0, totals["accounts"])


def _batches(statements: tuple[str, str, str], due, *, as_of: datetime, size: int) -> JobReport:
    """Walk the accounts with due lots in id order, one locked transaction per batch;
    report what was really done (counted under the lock, just before the writes)."""
    done, last = JobReport(0, 0, 0), 0
    while ids := _due_accounts(due(as_of=as_of), after=last, limit=size):
        with transaction.atomic():
            locked = accounts_lock(account_ids=ids)
            batch = _report(due(as_of=as_of).filter(account_id__in=locked))
            _apply(statements, ids=locked, as_of=as_of)
        done = JobReport(*(a + b for a, b in zip(astuple(done), astuple(batch), strict=True)))
        last = ids[-1]
    return done


def points_expire(
    *, as_of: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH_ACCOUNTS
) -> JobReport:
    """Expire every available lot whose expiry is at or before ``as_of`` (default: now).

    With ``dry_run`` nothing is written; the report says what would expire."""
    as_of = as_of or timezone.now()
    if dry_run:
        return _report(Lot.objects.expirable(as_of=as_of))
    return _batches(EXPIRE, Lot.objects.expirable, as_of=as_of, size=batch_size)


def pending_release(
    *, as_of: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH_ACCOUNTS
) -> JobReport:
    """Make pending points whose return window has closed by ``as_of`` available."""
    as_of = as_of or timezone.now()
    if dry_run:
        return _report(Lot.objects.releasable(as_of=as_of))
    return _batches(RELEASE, Lot.objects.releasable, as_of=as_of, size=batch_size)
