"""Bulk import of purchases (CSV), set-based: thousands of events per second.

Rows are validated first; each bad row is reported with its line number while the good
rows land. Import is idempotent by order id: a purchase already recorded is skipped. Points
follow the same rules as the events API (earning rule, tier bonus, campaigns with their
member caps and budgets, return window), computed by the same functions, but written in
bulk. Rows are sorted by member and cut into chunks that never split a member's rows; each
chunk is one transaction that locks its accounts in id order, plans the points, writes
events, lots and entries (PostgreSQL: COPY, ids reserved from the sequences in one query;
SQLite: ``bulk_create``) and updates balances and campaign participations in one statement
each. On PostgreSQL ``IMPORT_WORKERS`` threads (default 2), each with its own connection,
write chunks side by side. Campaign budgets are read without a lock and claimed at the end
with a conditional update; a chunk that loses that race is rolled back and runs again
with the campaign row locked first, so a budget is never overspent.
"""

from loyalty.services.imports.common import ImportReport
from loyalty.services.imports.reading import rows_read
from loyalty.services.imports.writing import events_import

__all__ = ["ImportReport", "events_import", "rows_read"]
