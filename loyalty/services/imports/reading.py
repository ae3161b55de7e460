"""Reading and validating import rows."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TextIO

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from config.input import ascii_id, hostile_message, text_is_hostile
from loyalty.currencies import ISO_4217
from loyalty.models import (
    Account,
    Event,
    EventType,
)
from loyalty.services.imports.common import REQUIRED, ImportReport, Row
from loyalty.services.ledger import account_open
from loyalty.timing import program_zone
from loyalty.validation import ASCII_DECIMAL

# --- reading and validating -------------------------------------------------------------


def _parse_amount(value: str) -> Decimal:
    if not ASCII_DECIMAL.fullmatch(value.strip()):  # not "1_000", "١٠٠" or "1e3"
        raise InvalidOperation
    amount = Decimal(value.strip())
    if (
        amount < 0
        or amount > settings.MAX_EVENT_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise InvalidOperation
    return amount


def _parse_time(value: str, now: datetime) -> datetime:
    if not value.strip():
        return now
    moment = parse_datetime(value.strip())
    if moment is None:
        raise ValueError
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=program_zone())
    if moment > now + timedelta(minutes=5):
        raise ValueError
    return moment


def _row(line: int, raw: dict[str, str], now: datetime) -> Row:
    if any(isinstance(value, str) and text_is_hostile(value) for value in raw.values()):
        raise ValueError(hostile_message())
    missing = [name for name in REQUIRED if not (raw.get(name) or "").strip()]
    if missing or not (
        (raw.get("member_email") or "").strip() or (raw.get("member_id") or "").strip()
    ):
        raise ValueError(
            _("missing fields: %(fields)s") % {"fields": ", ".join(missing) or "member_email"}
        )
    try:
        amount = _parse_amount(raw["amount"])
    except (InvalidOperation, ValueError):
        raise ValueError(
            _("amount must be a number from 0 to %(max)s with at most 2 decimals")
            % {"max": settings.MAX_EVENT_AMOUNT}
        ) from None
    currency = raw["currency"].strip().upper()
    if currency not in ISO_4217:
        raise ValueError(_("unknown currency %(code)s") % {"code": currency})
    try:
        occurred_at = _parse_time(raw.get("occurred_at") or "", now)
    except ValueError:
        raise ValueError(_("occurred_at must be an ISO date-time, not in the future")) from None
    order_id = raw["order_id"].strip()[:100]
    key = (raw.get("idempotency_key") or "").strip() or f"import:{order_id}"
    member = (raw.get("member_email") or raw.get("member_id") or "").strip().lower()
    return Row(line, order_id, key[:255], amount, currency, occurred_at, member=member)


def rows_read(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV rows with their line numbers (the header is line 1)."""
    reader = csv.DictReader(stream)
    for number, raw in enumerate(reader, start=2):
        yield number, {(k or "").strip().lower(): (v or "") for k, v in raw.items()}


def rows_validate(rows: Iterable[tuple[int, dict[str, str]]], report: ImportReport) -> list[Row]:
    now, good, seen = timezone.now(), [], {}
    for line, raw in rows:
        try:
            row = _row(line, raw, now)
        except ValueError as error:
            report.errors.append((line, str(error)))
            continue
        if row.order_id in seen:
            report.errors.append(
                (
                    line,
                    _("order %(order)s repeats line %(first)d")
                    % {"order": row.order_id, "first": seen[row.order_id]},
                )
            )
            continue
        seen[row.order_id] = line
        good.append(row)
    return good


def rows_resolve_members(rows: list[Row], report: ImportReport) -> list[Row]:
    emails = {r.member for r in rows if "@" in r.member}
    ids = {i for r in rows if (i := ascii_id(r.member)) is not None}
    users = User.objects.filter(is_active=True)
    by_email = dict(users.filter(email__any=emails).values_list("email", "pk"))
    known_ids = set(users.filter(pk__any=ids).values_list("pk", flat=True))
    accounts = dict(
        Account.objects.filter(member_id__any=[*by_email.values(), *known_ids]).values_list(
            "member_id", "pk"
        )
    )
    resolved = []
    for row in rows:
        member_id = by_email.get(row.member) or (
            parsed if (parsed := ascii_id(row.member)) in known_ids else None
        )
        if member_id is None:
            report.errors.append(
                (row.line, _("unknown member %(member)s") % {"member": row.member})
            )
            continue
        if member_id not in accounts:
            accounts[member_id] = account_open(member=User.objects.get(pk=member_id)).pk
        row.account_id = accounts[member_id]
        resolved.append(row)
    return resolved


# PostgreSQL: a join, which stays fast whatever the plan (with thousands of order ids as
# one array parameter, a filter would compare every scanned row with every id)
KNOWN_ORDERS_PG = """
SELECT e.order_id FROM loyalty_event e
JOIN unnest(%s::varchar[]) AS o(order_id) ON e.order_id = o.order_id
WHERE e.type = 'purchase' AND e.order_id <> ''
"""


def _known_orders(orders: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(KNOWN_ORDERS_PG, [orders])
            return {order for (order,) in cursor.fetchall()}
    known: set[str] = set()
    for start in range(0, len(orders), 5000):
        batch = orders[start : start + 5000]
        purchases = Event.objects.filter(type=EventType.PURCHASE, order_id__in=batch)
        known |= set(purchases.values_list("order_id", flat=True))
    return known


def rows_new_only(rows: list[Row], report: ImportReport) -> list[Row]:
    known = _known_orders([r.order_id for r in rows])
    report.skipped += sum(1 for r in rows if r.order_id in known)
    return [r for r in rows if r.order_id not in known]
