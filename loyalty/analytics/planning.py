"""How the report's statements are planned on PostgreSQL.

Statements run often enough on one connection are prepared (``DB_PREPARE_THRESHOLD``),
and after five runs PostgreSQL may keep a *generic* plan: one made without the dates of
the range. For a range over the ledger that plan guesses a few thousand rows, walks a
million entries through an index one by one and does not run in parallel (measured at
1,000,000 entries: active members 200 ms → 680 ms, the monthly figures 770 → 850 ms).
A report therefore runs in one read transaction that plans every statement for its own
dates (and sets back what was planned before, should the report run inside a larger
transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

SET_PLAN_CACHE_MODE = (
    "SELECT current_setting('plan_cache_mode'), set_config('plan_cache_mode', %s, true)"
)


@contextmanager
def report_planning() -> Iterator[None]:
    """A transaction in which PostgreSQL plans each statement for its parameters."""
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(SET_PLAN_CACHE_MODE, ["force_custom_plan"])
            before = cursor.fetchone()[0]
        yield
        with connection.cursor() as cursor:
            cursor.execute(SET_PLAN_CACHE_MODE, [before])
