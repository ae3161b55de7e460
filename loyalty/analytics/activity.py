"""Active members, aggregated in SQL: a member is *active* in a period when they have an
entry they caused in it (anything but an automatic expiry or release of pending points).
The report wants them per month and over the whole period (a member active in several
months counts once there).

On PostgreSQL both come from one statement that reads the partial index of "caused"
entries, ``entry_activity_idx (account_id, occurred_at)``, in account order and without
visiting the table: per account, ``bit_or`` sets one bit for each month it was active in
(a period has at most 62 months, one bigint), and the counts are taken over those
masks. Measured at 1,000,000 entries (docs/benchmarks.md): about 200 ms for both figures,
against about 600 ms for a distinct count per month plus a probe per account. Other
databases (SQLite in the tests) count the same with the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncMonth

from loyalty.models import Account, Entry, EntryKind
from loyalty.timing import program_zone

PASSIVE_KINDS = (EntryKind.EXPIRE, EntryKind.RELEASE)
MAX_MONTHS = 62  # one bit per month in a bigint, bit 0 and the sign bit unused

# The WHERE clause must imply the index predicate (migration 0011), so it is written out.
MASKS = """
    SELECT bit_or(1::bigint << width_bucket(occurred_at, %(bounds)s::timestamptz[]))
        AS months
    FROM loyalty_entry
    WHERE kind NOT IN ('expire', 'release')
        AND occurred_at >= %(start)s AND occurred_at < %(end)s
    GROUP BY account_id
"""


@dataclass(frozen=True)
class Activity:
    by_month: dict[date, int]
    total: int


def members_active(*, start: datetime, end: datetime, months: list[date]) -> Activity:
    """Active members in each of ``months`` (the months the period touches, in order) and
    over the whole period ``start``–``end``."""
    if connection.vendor == "postgresql" and len(months) <= MAX_MONTHS:
        return _active_by_masks(start, end, months)
    return Activity(by_month=_active_by_month(start, end), total=_active_total(start, end))


def _active_by_masks(start: datetime, end: datetime, months: list[date]) -> Activity:
    """Bit i (from 1) of an account's mask: active in ``months[i - 1]``."""
    bits = range(1, len(months) + 1)
    counts = ", ".join(f"count(*) FILTER (WHERE months & {1 << i} <> 0)" for i in bits)
    sql = f"SELECT count(*), {counts} FROM ({MASKS}) masks"  # noqa: S608 - numbers only
    params: dict[str, Any] = {"start": start, "end": end, "bounds": _bounds(months)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, *per_bit = cursor.fetchone()
    return Activity(by_month=dict(zip(months, per_bit, strict=True)), total=total)


def _bounds(months: list[date]) -> list[datetime]:
    """Where each month starts, and where the last one ends, in the program's zone."""
    after = date(months[-1].year + months[-1].month // 12, months[-1].month % 12 + 1, 1)
    return [datetime.combine(day, time.min, tzinfo=program_zone()) for day in [*months, after]]


def _caused(start: datetime, end: datetime):
    entries = Entry.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    return entries.exclude(kind__in=PASSIVE_KINDS)


def _active_by_month(start: datetime, end: datetime) -> dict[date, int]:
    rows = (
        _caused(start, end)
        .annotate(month=TruncMonth("occurred_at", tzinfo=program_zone()))
        .values("month")
        .annotate(active=Count("account", distinct=True))
        .order_by()
    )
    return {_day(row["month"]): row["active"] for row in rows}


def _active_total(start: datetime, end: datetime) -> int:
    """Asked per account (``EXISTS``), which stops at each member's first such entry."""
    caused = _caused(start, end).filter(account=OuterRef("pk"))
    return Account.objects.filter(Exists(caused)).count()


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
