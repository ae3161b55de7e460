"""The hot path of crediting points on PostgreSQL: one statement and the commit.

``points_credit`` is called for every purchase, so on PostgreSQL its writes are a single
data-modifying CTE: open the lot, insert the entry (``ON CONFLICT DO NOTHING`` on the
idempotency key) and add to the account's cached sums (``UPDATE`` takes the row lock)
only if the entry went in. When the key already exists, nothing is credited, the
just-opened lot is removed, and the caller answers with the existing entry. The ORM path
in ``ledger.py`` does the same in five statements and runs on SQLite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from loyalty.models import Entry, Lot, LotState

CREDIT = """
WITH lot AS (
    INSERT INTO loyalty_lot (account_id, kind, points, remaining, state, qualifying,
                             available_at, expires_at, created_at)
    VALUES (%(account)s, %(kind)s, %(points)s, %(points)s, %(state)s, %(qualifying)s,
            %(available_at)s, %(expires_at)s, %(now)s)
    RETURNING id
), entry AS (
    INSERT INTO loyalty_entry (account_id, kind, points, pending_points, qualifying_points,
                               lot_id, idempotency_key, source, details, note, occurred_at,
                               created_at, created_by_id, lot_expires_at, lot_available_at)
    SELECT %(account)s, %(kind)s, %(available)s, %(pending)s, %(counted)s, lot.id, %(key)s,
           %(source)s, %(details)s::jsonb, %(note)s, %(occurred_at)s, %(now)s, %(created_by)s,
           %(expires_at)s, %(available_at)s
    FROM lot
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), account AS (
    UPDATE loyalty_account
    SET balance = balance + %(available)s, pending = pending + %(pending)s,
        lifetime_earned = lifetime_earned + %(lifetime)s,
        qualifying_points = qualifying_points + %(counted)s, updated_at = %(now)s
    WHERE id = %(account)s AND EXISTS (SELECT 1 FROM entry)
    RETURNING balance, pending, lifetime_earned, qualifying_points
)
SELECT lot.id, entry.id, account.balance, account.pending, account.lifetime_earned,
       account.qualifying_points
FROM lot LEFT JOIN entry ON TRUE LEFT JOIN account ON TRUE
"""


@dataclass(frozen=True)
class CreditPlan:
    account_id: int
    kind: str
    points: int
    key: str
    pending: bool
    qualifying: bool
    lifetime: int
    available_at: datetime
    expires_at: datetime
    occurred_at: datetime
    now: datetime
    source: str
    details: dict[str, Any]
    note: str
    created_by_id: int | None

    @property
    def available(self) -> int:
        return 0 if self.pending else self.points

    @property
    def counted(self) -> int:
        return self.points if self.qualifying and not self.pending else 0

    def lot_fields(self) -> dict[str, Any]:
        """The new lot's columns (both write paths build the same rows)."""
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "points": self.points,
            "remaining": self.points,
            "state": LotState.PENDING if self.pending else LotState.AVAILABLE,
            "qualifying": self.qualifying,
            "available_at": self.available_at,
            "expires_at": self.expires_at,
        }

    def entry_fields(self) -> dict[str, Any]:
        """The credit entry's columns, but for its lot."""
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "points": self.available,
            "pending_points": self.points - self.available,
            "qualifying_points": self.counted,
            "idempotency_key": self.key,
            "source": self.source,
            "details": self.details,
            "note": self.note,
            "occurred_at": self.occurred_at,
            "created_by_id": self.created_by_id,
            "lot_expires_at": self.expires_at,
            "lot_available_at": self.available_at,
        }


def _params(plan: CreditPlan) -> dict[str, Any]:
    return {
        "account": plan.account_id,
        "kind": plan.kind,
        "points": plan.points,
        "state": LotState.PENDING if plan.pending else LotState.AVAILABLE,
        "qualifying": plan.qualifying,
        "available_at": plan.available_at,
        "expires_at": plan.expires_at,
        "now": plan.now,
        "available": plan.available,
        "pending": plan.points - plan.available,
        "counted": plan.counted,
        "key": plan.key,
        "source": plan.source,
        "details": json.dumps(plan.details, cls=DjangoJSONEncoder),
        "note": plan.note,
        "occurred_at": plan.occurred_at,
        "created_by": plan.created_by_id,
        "lifetime": plan.lifetime,
    }


def _loaded(instance: Any) -> Any:
    instance._state.adding = False
    instance._state.db = "default"
    return instance


def _entry(plan: CreditPlan, lot_id: int, entry_id: int) -> Entry:
    lot = _loaded(
        Lot(pk=lot_id, expired=0, reversed=0, owed=0, created_at=plan.now, **plan.lot_fields())
    )
    return _loaded(Entry(pk=entry_id, lot=lot, created_at=plan.now, **plan.entry_fields()))


def credit_sql(plan: CreditPlan) -> tuple[Entry | None, tuple[int, int, int, int] | None]:
    """Write the credit; return it and the account's new sums, or ``(None, None)`` when
    the idempotency key was already taken (nothing is credited then)."""
    with connection.cursor() as cursor:
        cursor.execute(CREDIT, _params(plan))
        lot_id, entry_id, *sums = cursor.fetchone()
        if entry_id is None:
            cursor.execute("DELETE FROM loyalty_lot WHERE id = %s", [lot_id])
            return None, None
    return _entry(plan, lot_id, entry_id), tuple(sums)


# Several credits of one event (base, tier bonus, campaign bonuses) in one statement: lot
# ids are drawn from the sequence up front so each entry finds its lot; nothing is written
# if any of the keys is already taken (the caller then goes credit by credit, which replays
# or refuses each properly). The caller holds the account lock, and every key written
# here belongs to that account, so the check cannot race.
_COLUMNS = (
    ("ord", "int"),
    ("kind", "varchar"),
    ("points", "bigint"),
    ("state", "varchar"),
    ("qualifying", "boolean"),
    ("available_at", "timestamptz"),
    ("expires_at", "timestamptz"),
    ("available", "bigint"),
    ("pending", "bigint"),
    ("counted", "bigint"),
    ("lifetime", "bigint"),
    ("key", "varchar"),
    ("source", "varchar"),
    ("details", "jsonb"),
    ("note", "text"),
    ("occurred_at", "timestamptz"),
    ("created_by", "bigint"),
)
_CREDITS = """
WITH input AS (
    SELECT nextval(pg_get_serial_sequence('loyalty_lot', 'id')) AS lot_id, v.*
    FROM (VALUES {rows}) AS v({columns})
    ORDER BY v.ord
), taken AS (
    SELECT 1 FROM loyalty_entry WHERE idempotency_key IN (SELECT key FROM input) LIMIT 1
), lot AS (
    INSERT INTO loyalty_lot (id, account_id, kind, points, remaining, state, qualifying,
                             available_at, expires_at, created_at)
    SELECT lot_id, %(account)s, kind, points, points, state, qualifying, available_at,
           expires_at, %(now)s
    FROM input WHERE NOT EXISTS (SELECT 1 FROM taken)
    RETURNING id
), entry AS (
    INSERT INTO loyalty_entry (account_id, kind, points, pending_points, qualifying_points,
                               lot_id, idempotency_key, source, details, note, occurred_at,
                               created_at, created_by_id, lot_expires_at, lot_available_at)
    SELECT %(account)s, kind, available, pending, counted, lot.id, key, source, details, note,
           occurred_at, %(now)s, created_by, expires_at, available_at
    FROM input JOIN lot ON lot.id = input.lot_id
    ORDER BY input.ord
    RETURNING id, lot_id
), account AS (
    UPDATE loyalty_account a
    SET balance = a.balance + s.available, pending = a.pending + s.pending,
        lifetime_earned = a.lifetime_earned + s.lifetime,
        qualifying_points = a.qualifying_points + s.counted, updated_at = %(now)s
    FROM (SELECT sum(available) AS available, sum(pending) AS pending,
                 sum(lifetime) AS lifetime, sum(counted) AS counted FROM input) AS s
    WHERE a.id = %(account)s AND NOT EXISTS (SELECT 1 FROM taken)
    RETURNING a.balance, a.pending, a.lifetime_earned, a.qualifying_points
)
SELECT (SELECT json_agg(json_build_array(input.ord, entry.lot_id, entry.id))
        FROM entry JOIN input ON input.lot_id = entry.lot_id),
       account.balance, account.pending, account.lifetime_earned, account.qualifying_points
FROM (SELECT 1) AS one LEFT JOIN account ON TRUE
"""


def _credits_statement(count: int) -> str:
    # Built from the constants above only: one row of typed placeholders per credit.
    rows = ", ".join(
        "(" + ", ".join(f"%({name}{i})s::{kind}" for name, kind in _COLUMNS) + ")"
        for i in range(count)
    )
    columns = ", ".join(name for name, _kind in _COLUMNS)
    return _CREDITS.format(rows=rows, columns=columns)


def credits_sql(plans: list[CreditPlan]) -> tuple[list[Entry], tuple[int, int, int, int]] | None:
    """Write several credits to one account at once; return them and the account's new
    sums, or ``None`` (and write nothing) when one of their keys is already taken."""
    account_id, now = plans[0].account_id, plans[0].now
    if any(plan.account_id != account_id for plan in plans):
        raise ValueError("credits_sql writes to one account at a time")
    params: dict[str, Any] = {"account": account_id, "now": now}
    for i, plan in enumerate(plans):
        row = {**_params(plan), "ord": i}
        params.update({f"{name}{i}": row[name] for name, _kind in _COLUMNS})
    with connection.cursor() as cursor:
        cursor.execute(_credits_statement(len(plans)), params)
        written, *sums = cursor.fetchone()
    if not written:
        return None
    by_order = {order: (lot_id, entry_id) for order, lot_id, entry_id in written}
    entries = [_entry(plan, *by_order[i]) for i, plan in enumerate(plans)]
    return entries, tuple(sums)
