"""Writing a chunk of planned rows in bulk."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.lock_objects import accounts_lock
from loyalty.models import (
    Account,
    Campaign,
    CampaignParticipation,
    Entry,
    Event,
    EventType,
    Lot,
    LotState,
)
from loyalty.services.imports.common import CHUNK, ImportReport, Row
from loyalty.services.imports.planning import Program, program_load, row_plan
from loyalty.services.imports.reading import rows_new_only, rows_resolve_members, rows_validate
from loyalty.services.tiers import tier_upgrade_check

# --- writing in bulk ------------------------------------------------------------------------

APPLY_BALANCES = """
UPDATE loyalty_account SET balance = balance + v.column2, pending = pending + v.column3,
    lifetime_earned = lifetime_earned + v.column4,
    qualifying_points = qualifying_points + v.column5, updated_at = %s
FROM (VALUES {rows}) AS v
WHERE loyalty_account.id = v.column1
"""
VALUES_ROW = "(" + ", ".join(["CAST(%s AS BIGINT)"] * 5) + ")"


def _lock_budgets(program: Program) -> None:
    budgeted = [c.pk for c in program.campaigns if c.budget_points is not None]
    locked = Campaign.objects.select_for_update().filter(pk__in=budgeted).order_by("pk")
    program.budgets = {c.pk: c.budget_points - c.budget_used for c in locked}


def _load_participations(program: Program, account_ids: list[int]) -> None:
    campaign_ids = [c.pk for c in program.campaigns]
    rows = CampaignParticipation.objects.filter(
        campaign_id__in=campaign_ids, account_id__in=account_ids
    )
    program.taken = {(p.campaign_id, p.account_id): p.points for p in rows}
    program.joined = {(p.campaign_id, p.account_id): p.events for p in rows}


def _event(row: Row, rule_id: int | None) -> Event:
    points = sum(c["points"] for c in row.credits)
    body = {
        "type": EventType.PURCHASE,
        "order_id": row.order_id,
        "points_awarded": points,
        "imported": True,
        "status": "pending" if any(c["pending"] for c in row.credits) else "available",
    }
    fingerprint = f"import|{row.order_id}|{row.amount}|{row.currency}|{row.occurred_at.isoformat()}"
    return Event(
        idempotency_key=row.key,
        type=EventType.PURCHASE,
        account_id=row.account_id,
        rule_id=rule_id,
        amount=row.amount,
        currency=row.currency,
        order_id=row.order_id,
        occurred_at=row.occurred_at,
        metadata={"import": True},
        points_awarded=points,
        request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        response=body,
    )


def _lots_and_entries(rows: list[Row], events: list[Event]) -> tuple[list[Lot], list[Entry]]:
    lots, entries = [], []
    for row, event in zip(rows, events, strict=True):
        for credit in row.credits:
            lot = Lot(
                account_id=row.account_id,
                kind=credit["kind"],
                points=credit["points"],
                remaining=credit["points"],
                qualifying=credit["qualifying"],
                state=LotState.PENDING if credit["pending"] else LotState.AVAILABLE,
                available_at=credit["available_at"],
                expires_at=credit["expires_at"],
            )
            lots.append(lot)
            entries.append(_entry(row, event, credit, lot))
    Lot.objects.bulk_create(lots)
    for entry in entries:
        entry.lot_id = entry.lot.pk
    return lots, entries


def _entry(row: Row, event: Event, credit: dict[str, Any], lot: Lot) -> Entry:
    points, pending = (0, credit["points"]) if credit["pending"] else (credit["points"], 0)
    counted = points if credit["qualifying"] else 0
    details = {
        "event_id": event.pk,
        "event_type": EventType.PURCHASE,
        "part": credit["part"],
        "order_id": row.order_id,
        **credit["details"],
    }
    return Entry(
        account_id=row.account_id,
        kind=credit["kind"],
        points=points,
        pending_points=pending,
        qualifying_points=counted,
        lot=lot,
        idempotency_key=f"event:{row.key}:{credit['part']}",
        source=f"event:{event.pk}",
        details=details,
        occurred_at=row.occurred_at,
    )


def _apply_balances(entries: list[Entry], now: datetime) -> dict[int, int]:
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries:
        total = sums[entry.account_id]
        total[0] += entry.points
        total[1] += entry.pending_points
        total[2] += entry.points + entry.pending_points
        total[3] += entry.qualifying_points
    if sums:
        sql = APPLY_BALANCES.format(rows=", ".join([VALUES_ROW] * len(sums)))
        params = [connection.ops.adapt_datetimefield_value(now)]
        for account_id, (balance, pending, lifetime, qualifying) in sums.items():
            params += [account_id, balance, pending, lifetime, qualifying]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return {account_id: total[3] for account_id, total in sums.items() if total[3] > 0}


def _save_campaigns(program: Program, before: dict[int, int | None]) -> None:
    if program.joined:
        CampaignParticipation.objects.bulk_create(
            [
                CampaignParticipation(
                    campaign_id=c, account_id=a, points=program.taken[(c, a)], events=n
                )
                for (c, a), n in program.joined.items()
            ],
            update_conflicts=True,
            unique_fields=["campaign", "account"],
            update_fields=["points", "events"],
        )
    for campaign_id, left in program.budgets.items():
        if (spent := before[campaign_id] - left) > 0:
            Campaign.objects.filter(pk=campaign_id).update(budget_used=F("budget_used") + spent)


@transaction.atomic
def _import_chunk(rows: list[Row], program: Program, report: ImportReport) -> None:
    now = timezone.now()
    locked = accounts_lock(account_ids={r.account_id for r in rows})
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=locked).select_related("tier")}
    _lock_budgets(program)
    _load_participations(program, locked)
    before = dict(program.budgets)
    planned = []
    for row in rows:
        if error := row_plan(row, accounts[row.account_id], program, now):
            report.errors.append((row.line, error))
        else:
            planned.append(row)
    rules = {r.line: program.rule_at(r.occurred_at) for r in planned}
    events = Event.objects.bulk_create(
        [_event(r, getattr(rules[r.line], "pk", None)) for r in planned]
    )
    _lots, entries = _lots_and_entries(planned, events)
    Entry.objects.bulk_create(entries)
    gained = _apply_balances(entries, now)
    _save_campaigns(program, before)
    _upgrade_tiers(gained, accounts)
    report.imported += len(planned)
    report.points += sum(e.points + e.pending_points for e in entries)


def _upgrade_tiers(gained: dict[int, int], accounts: dict[int, Account]) -> None:
    for account_id in gained:
        tier_upgrade_check(account=accounts[account_id])


def events_import(
    *, rows: Iterable[tuple[int, dict[str, str]]], chunk_size: int = CHUNK
) -> ImportReport:
    """Import purchase rows ``(line, {column: value})``; see the module docstring."""
    report = ImportReport()
    valid = rows_new_only(rows_resolve_members(rows_validate(rows, report), report), report)
    if valid:
        program = program_load(valid)
        valid.sort(key=lambda r: (r.account_id, r.occurred_at))
        for start in range(0, len(valid), chunk_size):
            _import_chunk(valid[start : start + chunk_size], program, report)
    report.errors.sort()
    return report
