"""Rows and reports shared by the import steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

CHUNK = 2000
REQUIRED = ("order_id", "amount", "currency")


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    points: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Row:
    line: int
    order_id: str
    key: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    account_id: int = 0
    event_id: int = 0
    member: str = ""
    credits: list[dict[str, Any]] = field(default_factory=list)
