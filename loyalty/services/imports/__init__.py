"""Bulk import of purchases (CSV), set-based: thousands of events per second.

Rows are validated first; each bad row is reported with its line number while the good
rows land. Import is idempotent by order id: a purchase already recorded is skipped. Points
follow the same rules as the events API (earning rule, tier bonus, campaigns with their
member caps and budgets, return window), computed by the same functions, but written in
bulk: per chunk one transaction locks the chunk's accounts in id order, then inserts
events, lots and entries with ``bulk_create`` and updates the balances in one statement.
"""

from loyalty.services.imports.common import ImportReport
from loyalty.services.imports.reading import rows_read
from loyalty.services.imports.writing import events_import

__all__ = ["ImportReport", "events_import", "rows_read"]
