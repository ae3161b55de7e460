"""Writing a chunk of planned rows in bulk."""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.lookups import int_array
from loyalty.keys import entry_key
from loyalty.models import (
    Account,
    Campaign,
    CampaignParticipation,
    Entry,
    Event,
    EventType,
    Lot,
    LotState,
    MemberSegment,
    Tier,
)
from loyalty.services.imports.common import CHUNK, ImportReport, Row
from loyalty.services.imports.planning import Program, program_load, row_plan
from loyalty.services.imports.reading import rows_new_only, rows_resolve_members, rows_validate
from loyalty.services.tiers import tier_for_points, tier_upgrade_check
from loyalty.signals import events_imported

# --- writing in bulk ------------------------------------------------------------------------

APPLY_BALANCES = """
UPDATE loyalty_account SET balance = balance + v.column2, pending = pending + v.column3,
    lifetime_earned = lifetime_earned + v.column4,
    qualifying_points = qualifying_points + v.column5, updated_at = %s
FROM (VALUES {rows}) AS v
WHERE loyalty_account.id = v.column1
"""
VALUES_ROW = "(" + ", ".join(["CAST(%s AS BIGINT)"] * 5) + ")"
# PostgreSQL: five arrays instead of five parameters per account
APPLY_BALANCES_PG = """
UPDATE loyalty_account SET balance = balance + v.add_balance,
    pending = pending + v.add_pending, lifetime_earned = lifetime_earned + v.add_lifetime,
    qualifying_points = qualifying_points + v.add_qualifying, updated_at = %s
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])
    AS v(id, add_balance, add_pending, add_lifetime, add_qualifying)
WHERE loyalty_account.id = v.id
"""
SAVE_PARTICIPATIONS_PG = """
INSERT INTO loyalty_campaignparticipation (campaign_id, account_id, points, events, first_at)
SELECT v.campaign_id, v.account_id, v.points, v.events, %s
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::integer[])
    AS v(campaign_id, account_id, points, events)
ON CONFLICT (campaign_id, account_id)
DO UPDATE SET points = EXCLUDED.points, events = EXCLUDED.events
"""


class BudgetRace(Exception):
    """Another writer spent a campaign budget this chunk had planned with."""


def _read_budgets(program: Program, *, lock: bool) -> None:
    """What is left of each budgeted campaign. Chunks read it without a lock and claim what
    they spent at the end with a conditional update, so parallel chunks do not queue behind
    one campaign row; a chunk that loses that race runs again with the row locked first."""
    budgeted = [c.pk for c in program.campaigns if c.budget_points is not None]
    campaigns = Campaign.objects.filter(pk__in=budgeted).order_by("pk")
    if lock:
        campaigns = campaigns.select_for_update()
    left = campaigns.values_list("pk", "budget_points", "budget_used")
    program.budgets = {pk: points - used for pk, points, used in left}


def _load_participations(program: Program, account_ids: list[int]) -> None:
    campaign_ids = [c.pk for c in program.campaigns]
    rows = CampaignParticipation.objects.filter(
        campaign_id__in=campaign_ids, account_id__any=account_ids
    ).values_list("campaign_id", "account_id", "points", "events")
    program.taken, program.joined = {}, {}
    for campaign_id, account_id, points, events in rows:
        program.taken[campaign_id, account_id] = points
        program.joined[campaign_id, account_id] = events


def _load_segments(program: Program, account_ids: list[int]) -> None:
    """RFM labels, read only when a campaign targets segments (as the events API does)."""
    if any(campaign.target_segments for campaign in program.campaigns):
        labels = MemberSegment.objects.filter(account_id__any=account_ids)
        program.segments = dict(labels.values_list("account_id", "label"))


def _event_body(row: Row, points: int) -> dict[str, Any]:
    return {
        "type": EventType.PURCHASE,
        "order_id": row.order_id,
        "points_awarded": points,
        "imported": True,
        "status": "pending" if any(c["pending"] for c in row.credits) else "available",
    }


def _fingerprint(row: Row) -> str:
    fingerprint = f"import|{row.order_id}|{row.amount}|{row.currency}|{row.occurred_at.isoformat()}"
    return hashlib.sha256(fingerprint.encode()).hexdigest()


def _entry_details(row: Row, credit: dict[str, Any], event_id: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": EventType.PURCHASE,
        "part": credit["part"],
        "order_id": row.order_id,
        **credit["details"],
    }


def _event(row: Row, rule_id: int | None) -> Event:
    points = sum(c["points"] for c in row.credits)
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
        request_hash=_fingerprint(row),
        response=_event_body(row, points),
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
    return Entry(
        account_id=row.account_id,
        kind=credit["kind"],
        points=points,
        pending_points=pending,
        qualifying_points=points if credit["qualifying"] else 0,
        lot=lot,
        idempotency_key=entry_key("event", row.key, credit["part"]),
        source=f"event:{event.pk}",
        details=_entry_details(row, credit, event.pk),
        occurred_at=row.occurred_at,
        lot_expires_at=credit["expires_at"],
        lot_available_at=credit["available_at"],
    )


# per account: [available, pending, lifetime earned, qualifying] points added
Sums = dict[int, list[int]]


def _sums(entries: list[Entry]) -> Sums:
    sums: Sums = defaultdict(lambda: [0, 0, 0, 0])
    for entry in entries:
        total = sums[entry.account_id]
        total[0] += entry.points
        total[1] += entry.pending_points
        total[2] += entry.points + entry.pending_points
        total[3] += entry.qualifying_points
    return sums


def _apply_balances(sums: Sums, now: datetime) -> dict[int, int]:
    if sums and connection.vendor == "postgresql":
        columns = [int_array(sums), *map(int_array, zip(*sums.values(), strict=True))]
        with connection.cursor() as cursor:
            cursor.execute(APPLY_BALANCES_PG, [now, *columns])
    elif sums:
        sql = APPLY_BALANCES.format(rows=", ".join([VALUES_ROW] * len(sums)))
        params = [connection.ops.adapt_datetimefield_value(now)]
        for account_id, (balance, pending, lifetime, qualifying) in sums.items():
            params += [account_id, balance, pending, lifetime, qualifying]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return {account_id: total[3] for account_id, total in sums.items() if total[3] > 0}


def _save_campaigns(program: Program, before: dict[int, int | None], now: datetime) -> None:
    if program.joined and connection.vendor == "postgresql":
        keys = list(program.joined)
        columns = [
            int_array(c for c, _a in keys),
            int_array(a for _c, a in keys),
            int_array(program.taken[key] for key in keys),
            int_array(program.joined[key] for key in keys),
        ]
        with connection.cursor() as cursor:
            cursor.execute(SAVE_PARTICIPATIONS_PG, [now, *columns])
    elif program.joined:
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
    for campaign_id, left in sorted(program.budgets.items()):
        if (spent := before[campaign_id] - left) > 0:
            claimed = Campaign.objects.filter(
                pk=campaign_id, budget_used__lte=F("budget_points") - spent
            ).update(budget_used=F("budget_used") + spent)
            if not claimed:
                raise BudgetRace(campaign_id)


def _import_chunk(rows: list[Row], program: Program) -> ImportReport:
    """One transaction for a chunk of rows (each member's rows all in one chunk)."""
    try:
        return _chunk_write(rows, program, lock_budgets=False)
    except BudgetRace:
        return _chunk_write(rows, program, lock_budgets=True)


@transaction.atomic
def _chunk_write(rows: list[Row], program: Program, *, lock_budgets: bool) -> ImportReport:
    report, now = ImportReport(), timezone.now()
    # the program's rules are shared; budgets, participations and segments are this chunk's
    program = replace(program, budgets={}, taken={}, joined={}, segments={})
    if connection.vendor == "postgresql":
        # A chunk's commit does not wait for its WAL flush (most of a chunk's commit time).
        # Safe here: a database crash can lose only the last chunks, never half of one, and
        # running the same file again imports exactly what is missing (idempotent by order).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    ids = sorted({r.account_id for r in rows})
    locking = Account.objects.select_for_update(of=("self",)).select_related("tier")
    locking = locking.only("member_id", "qualifying_points", "tier")  # what planning reads
    accounts = {a.pk: a for a in locking.filter(pk__any=ids).order_by("pk")}
    _read_budgets(program, lock=lock_budgets)
    _load_participations(program, list(accounts))
    _load_segments(program, list(accounts))
    before = dict(program.budgets)
    planned = []
    for row in rows:
        if error := row_plan(row, accounts[row.account_id], program, now):
            report.errors.append((row.line, error))
        else:
            planned.append(row)
    rules = {r.line: getattr(program.rule_at(r.occurred_at), "pk", None) for r in planned}
    if connection.vendor == "postgresql":
        sums = _write_copy(planned, rules, now)
    else:
        sums = _sums(_write_orm(planned, rules))
    gained = _apply_balances(sums, now)
    _save_campaigns(program, before, now)
    _upgrade_tiers(gained, accounts)
    _announce(planned, accounts)
    report.imported = len(planned)
    report.points = sum(total[2] for total in sums.values())
    return report


def _announce(rows: list[Row], accounts: dict[int, Account]) -> None:
    """Tell other apps (referrals: a friend's first purchase) once the chunk committed."""
    events = [
        {
            "event_id": row.event_id,
            "member_id": accounts[row.account_id].member_id,
            "type": EventType.PURCHASE,
            "amount": row.amount,
            "occurred_at": row.occurred_at,
        }
        for row in rows
    ]
    if events:
        transaction.on_commit(lambda: events_imported.send(sender=Event, events=events))


def _write_orm(rows: list[Row], rules: dict[int, int | None]) -> list[Entry]:
    events = Event.objects.bulk_create([_event(r, rules[r.line]) for r in rows])
    for row, event in zip(rows, events, strict=True):
        row.event_id = event.pk
    _lots, entries = _lots_and_entries(rows, events)
    return Entry.objects.bulk_create(entries)


def _upgrade_tiers(gained: dict[int, int], accounts: dict[int, Account]) -> None:
    """Only members whose new qualifying points reach a higher tier are looked at again."""
    tiers = list(Tier.objects.order_by("rank"))
    for account_id, points in gained.items():
        account = accounts[account_id]
        target = tier_for_points(points=account.qualifying_points + points, tiers=tiers)
        current = account.tier.rank if account.tier else -1
        if target is not None and target.rank > current:
            tier_upgrade_check(account=account, tiers=tiers)


# --- PostgreSQL: COPY -----------------------------------------------------------------------

RESERVE_IDS = """
SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('loyalty_event', 'id'))
             FROM generate_series(1, %s)),
       ARRAY(SELECT nextval(pg_get_serial_sequence('loyalty_lot', 'id'))
             FROM generate_series(1, %s))
"""
EVENT_COLUMNS = (
    "id, idempotency_key, type, account_id, rule_id, amount, currency, order_id,"
    " refunded_amount, occurred_at, metadata, points_awarded, request_hash, response,"
    " created_at"
)
LOT_COLUMNS = (
    "id, account_id, kind, points, remaining, expired, reversed, owed, state, qualifying,"
    " available_at, expires_at, created_at"
)
ENTRY_COLUMNS = (
    "account_id, kind, points, pending_points, qualifying_points, lot_id, idempotency_key,"
    " source, details, note, occurred_at, created_at, lot_expires_at, lot_available_at"
)
IMPORT_METADATA = json.dumps({"import": True})
to_json = DjangoJSONEncoder().encode
quoted = json.encoder.encode_basestring_ascii  # a JSON string literal, made in C


@lru_cache(maxsize=1024)
def _json_tail(extra: tuple[tuple[str, Any], ...]) -> str:
    """``, "key": value, ...`` for a credit's own details (a few shapes, repeated)."""
    return ", " + to_json(dict(extra))[1:-1] if extra else ""


def _event_body_json(row: Row, points: int) -> str:
    """``_event_body`` as JSON, formatted directly (see ``_entry_details_json``)."""
    status = "pending" if any(c["pending"] for c in row.credits) else "available"
    return (
        f'{{"type": "{EventType.PURCHASE.value}", "order_id": {quoted(row.order_id)}, '
        f'"points_awarded": {points}, "imported": true, "status": "{status}"}}'
    )


def _entry_details_json(row: Row, credit: dict[str, Any], event_id: int) -> str:
    """``_entry_details`` as JSON, formatted directly: the same document, without a JSON
    encoder run for each of the (three per purchase) entries."""
    return (
        f'{{"event_id": {event_id}, "event_type": "{EventType.PURCHASE.value}", '
        f'"part": {quoted(credit["part"])}, "order_id": {quoted(row.order_id)}'
        f"{_json_tail(tuple(credit['details'].items()))}}}"
    )


def _write_copy(rows: list[Row], rules: dict[int, int | None], now: datetime) -> Sums:
    """Events, lots and entries streamed with COPY: ids are drawn from the sequences first
    (one query), so every row is a plain tuple and no model instance is built. Tuples are
    made while a writer thread sends the previous ones, so PostgreSQL inserts and indexes
    them on the other core meanwhile."""
    lots_wanted = sum(len(row.credits) for row in rows)
    with connection.cursor() as cursor:
        cursor.execute(RESERVE_IDS, [len(rows), lots_wanted])
        event_ids, lot_ids = cursor.fetchone()
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        next_lot = iter(lot_ids)
        planned = [
            (row, event_id, [(credit, next(next_lot)) for credit in row.credits])
            for row, event_id in zip(rows, event_ids, strict=True)
        ]
        for row, event_id, _credits in planned:
            row.event_id = event_id
        with _copy(raw, "loyalty_event", EVENT_COLUMNS) as copy:
            for row, event_id, _credits in planned:
                copy.write_row(_event_tuple(row, event_id, rules[row.line], now))
        with _copy(raw, "loyalty_lot", LOT_COLUMNS) as copy:
            for row, _event_id, credits in planned:
                for credit, lot_id in credits:
                    copy.write_row(_lot_tuple(row, credit, lot_id, now))
        sums: Sums = defaultdict(lambda: [0, 0, 0, 0])
        with _copy(raw, "loyalty_entry", ENTRY_COLUMNS) as copy:
            for row, event_id, credits in planned:
                total = sums[row.account_id]
                for credit, lot_id in credits:
                    entry = _entry_tuple(row, credit, event_id, lot_id, now)
                    copy.write_row(entry)
                    total[0] += entry[2]
                    total[1] += entry[3]
                    total[2] += entry[2] + entry[3]
                    total[3] += entry[4]
    return sums


def _copy(cursor: Any, table: str, columns: str) -> Any:
    return cursor.copy(f"COPY {table} ({columns}) FROM STDIN")


def _event_tuple(row: Row, event_id: int, rule_id: int | None, now: datetime) -> tuple:
    points = sum(c["points"] for c in row.credits)
    return (
        event_id,
        row.key,
        EventType.PURCHASE,
        row.account_id,
        rule_id,
        row.amount,
        row.currency,
        row.order_id,
        0,
        row.occurred_at,
        IMPORT_METADATA,
        points,
        _fingerprint(row),
        _event_body_json(row, points),
        now,
    )


def _lot_tuple(row: Row, credit: dict[str, Any], lot_id: int, now: datetime) -> tuple:
    state = LotState.PENDING if credit["pending"] else LotState.AVAILABLE
    points = credit["points"]
    return (
        lot_id,
        row.account_id,
        credit["kind"],
        points,
        points,
        0,
        0,
        0,
        state,
        credit["qualifying"],
        credit["available_at"],
        credit["expires_at"],
        now,
    )


def _entry_tuple(
    row: Row, credit: dict[str, Any], event_id: int, lot_id: int, now: datetime
) -> tuple:
    points, pending = (0, credit["points"]) if credit["pending"] else (credit["points"], 0)
    return (
        row.account_id,
        credit["kind"],
        points,
        pending,
        points if credit["qualifying"] else 0,
        lot_id,
        entry_key("event", row.key, credit["part"]),
        f"event:{event_id}",
        _entry_details_json(row, credit, event_id),
        "",
        row.occurred_at,
        now,
        credit["expires_at"],
        credit["available_at"],
    )


def _chunks(rows: list[Row], size: int) -> Iterator[list[Row]]:
    """Rows sorted by member, cut into chunks of about ``size`` without splitting a
    member's rows, so parallel chunks never wait for each other's account locks."""
    chunk: list[Row] = []
    for row in rows:
        if len(chunk) >= size and row.account_id != chunk[-1].account_id:
            yield chunk
            chunk = []
        chunk.append(row)
    if chunk:
        yield chunk


def _import_parallel(chunks: Iterator[list[Row]], program: Program, workers: int) -> list:
    """Chunks written by ``workers`` threads, each with its own database connection: one
    thread plans and formats rows in Python while PostgreSQL inserts, indexes and checks
    another's on the other core (a single thread leaves one of them idle)."""
    take, results, failures = threading.Lock(), [], []

    def work() -> None:
        try:
            while not failures:
                with take:
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                results.append(_import_chunk(chunk, program))
        except BaseException as error:  # re-raised in the caller
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, name=f"import-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results


def events_import(
    *, rows: Iterable[tuple[int, dict[str, str]]], chunk_size: int = CHUNK
) -> ImportReport:
    """Import purchase rows ``(line, {column: value})``; see the module docstring."""
    with _no_cycle_collection():
        return _events_import(rows, chunk_size)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """An import holds every row of the file and makes several objects per row: Python's
    cycle collector would walk them all again and again (measured: about a fifth of an
    import's time) while finding nothing to free. Plain reference counting still frees
    what the rows no longer need."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _events_import(rows: Iterable[tuple[int, dict[str, str]]], chunk_size: int) -> ImportReport:
    report = ImportReport()
    valid = rows_new_only(rows_resolve_members(rows_validate(rows, report), report), report)
    if valid:
        program = program_load(valid)
        valid.sort(key=lambda r: (r.account_id, r.occurred_at))
        chunks = _chunks(valid, chunk_size)
        workers = settings.IMPORT_WORKERS
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            workers = 1  # one writer (SQLite), or the caller's transaction must see it all
        if workers > 1:
            done = _import_parallel(chunks, program, workers)
        else:
            done = [_import_chunk(chunk, program) for chunk in chunks]
        for part in done:
            report.imported += part.imported
            report.points += part.points
            report.errors += part.errors
    report.errors.sort()
    return report
