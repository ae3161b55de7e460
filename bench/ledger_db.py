"""The bench database: create it, migrate it, and load a consistent ledger fast.

Every ``INSERT … SELECT`` names every concrete column of the model: the columns the bench
cares about get an SQL expression, every other column gets the field's own default (and a
new NOT NULL column without a default stops the load with a clear error). So the loader
keeps working while the models grow.

The loaded ledger is what ``verify_ledger`` expects: one ``earn`` entry per lot, lots
untouched (``remaining = points``), ``balance = lifetime_earned = Σ lot points``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, models, transaction

from loyalty.models import Account, Entry, Lot

LEDGER_TABLES = "accounts_user, loyalty_account, loyalty_lot, loyalty_entry, loyalty_allocation"
EXPIRY_DAYS = 365
# Deterministic pseudo-random numbers per lot id (the same on every run).
HASH_POINTS = "abs(mod(hashint8extended(g, 3), 491))"
# Lots go to accounts at random, as credits arrive over time: an account's lots are spread
# over the table, not stored side by side (which would flatter any per-account batch).
HASH_ACCOUNT = "1 + abs(mod(hashint8extended(g, 4), %(accounts)s))"
# Lot g was earned at a steady pace over a window ending at as_of, and expires EXPIRY_DAYS
# later, so the oldest ``due_fraction`` of the lots (the lowest ids) are due at as_of.
EARNED_AT = (
    "%(as_of)s::timestamptz - make_interval(secs => %(window)s * (1 - g::float8 / %(lots)s))"
)


@dataclass(frozen=True)
class Scale:
    accounts: int
    lots: int
    due_fraction: float
    as_of: datetime


def database_name() -> str:
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in name:
        raise SystemExit(f"refusing to touch database {name!r}: its name must contain 'bench'")
    return name


def database_recreate() -> None:
    """DROP and CREATE the bench database (connected to the maintenance database)."""
    name = database_name()
    db = settings.DATABASES["default"]
    conninfo = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": "postgres"}
    if db.get("PASSWORD"):
        conninfo["password"] = db["PASSWORD"]
    connection.close()
    with psycopg.connect(**conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def database_migrate() -> None:
    call_command("migrate", verbosity=0, interactive=False)


def _column_default(model: type[models.Model], field: models.Field) -> Any:
    """The field's default as Django would save it ("" for a blank CharField)."""
    value = field.get_default()
    if value is None and not field.null:
        raise SystemExit(f"bench loader: no value for NOT NULL {model.__name__}.{field.name}")
    return field.get_db_prep_save(value, connection)


def insert_select(
    model: type[models.Model], exprs: dict[str, str], source: str, params: dict[str, Any]
) -> int:
    """INSERT INTO <model table> (every column) SELECT <expr or default> FROM <source>."""
    columns, values, args = [], [], dict(params)
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in exprs:
            continue  # the database numbers the rows
        columns.append(field.column)
        if field.column in exprs:
            values.append(exprs[field.column])
        else:
            args[f"default_{field.column}"] = _column_default(model, field)
            values.append(f"%(default_{field.column})s")
    table = model._meta.db_table
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.rowcount


def insert_row_sql(model: type[models.Model], given: set[str]) -> tuple[str, dict[str, Any]]:
    """INSERT of one row with a named placeholder per column: the ``given`` columns are the
    caller's, the defaults of all others are returned with the statement."""
    columns, defaults = [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column not in given:
            defaults[field.column] = _column_default(model, field)
    values = ", ".join(f"%({column})s" for column in columns)
    table, pk = model._meta.db_table, model._meta.pk.column
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) RETURNING {pk}", defaults


def _users(params: dict[str, Any]) -> int:
    exprs = {
        "id": "g",
        "email": "'member' || g || '@bench.invalid'",
        "password": "'!'",
        "date_joined": "%(now)s",
    }
    source = "generate_series(1, %(accounts)s::bigint) AS g"
    return insert_select(get_user_model(), exprs, source, params)


def _lots(params: dict[str, Any], account_sql: str) -> int:
    exprs = {
        "id": "g",
        "account_id": account_sql,
        "kind": "'earn'",
        "points": f"10 + {HASH_POINTS}",
        "remaining": f"10 + {HASH_POINTS}",
        "state": "'available'",
        "available_at": EARNED_AT,
        "expires_at": f"{EARNED_AT} + interval '{EXPIRY_DAYS} days'",
        "created_at": "%(now)s",
    }
    return insert_select(Lot, exprs, "generate_series(1, %(lots)s::bigint) AS g", params)


def _entries(params: dict[str, Any]) -> int:
    exprs = {
        "id": "l.id",
        "account_id": "l.account_id",
        "kind": "'earn'",
        "points": "l.points",
        "lot_id": "l.id",
        "idempotency_key": "'bench:earn:' || l.id",
        "occurred_at": "l.available_at",
        "lot_expires_at": "l.expires_at",
        "lot_available_at": "l.available_at",
        "created_at": "%(now)s",
    }
    return insert_select(Entry, exprs, "loyalty_lot AS l", params)


def _accounts(params: dict[str, Any]) -> int:
    totals = "SELECT account_id, SUM(points) AS total FROM loyalty_lot GROUP BY account_id"
    exprs = {
        "id": "g",
        "member_id": "g",
        "balance": "COALESCE(s.total, 0)",
        "lifetime_earned": "COALESCE(s.total, 0)",
        "created_at": "%(now)s",
        "updated_at": "%(now)s",
    }
    series = "generate_series(1, %(accounts)s::bigint) AS g"
    source = f"{series} LEFT JOIN ({totals}) s ON s.account_id = g"
    return insert_select(Account, exprs, source, params)


def ledger_load(scale: Scale, *, now: datetime, account_sql: str = HASH_ACCOUNT) -> dict[str, int]:
    """Empty the ledger tables and load ``scale`` in one transaction; then VACUUM ANALYZE
    and CHECKPOINT, so that the timed work starts from a settled database. ``account_sql``
    picks the account of lot ``g`` (1 to ``%(accounts)s``; default: any, at random)."""
    params = {
        "accounts": scale.accounts,
        "lots": scale.lots,
        "window": EXPIRY_DAYS * 86_400 / (1 - scale.due_fraction),
        "as_of": scale.as_of,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {LEDGER_TABLES} RESTART IDENTITY CASCADE")
    with transaction.atomic():
        rows = {"users": _users(params), "lots": _lots(params, account_sql)}
        rows |= {"entries": _entries(params), "accounts": _accounts(params)}
    _sequences_reset()
    database_settle()
    return rows


def _sequences_reset() -> None:
    sql = connection.ops.sequence_reset_sql(no_style(), [get_user_model(), Account, Lot, Entry])
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)


def database_settle() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {LEDGER_TABLES}")
        cursor.execute("CHECKPOINT")


def scalar(sql: str, params: dict[str, Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def due_totals(as_of: datetime) -> tuple[int, int]:
    """(lots, points) that ``points_expire(as_of=as_of)`` should expire."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COALESCE(SUM(remaining), 0) FROM loyalty_lot"
            " WHERE state = 'available' AND remaining > 0 AND expires_at <= %s",
            [as_of],
        )
        lots, points = cursor.fetchone()
    return lots, points


def server_facts() -> dict[str, str]:
    keys = ("server_version", "shared_buffers", "work_mem", "synchronous_commit", "fsync")
    return {key: scalar(f"SHOW {key}") for key in keys}
