"""verify_ledger proves every column that defines a lot's money against its entries, and
on PostgreSQL the database refuses edits of those columns in the first place."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from loyalty.models import EntryKind, Lot
from loyalty.services.expiry import points_expire
from loyalty.services.ledger import points_credit, points_debit
from loyalty.verification import LOT_CHECKS, ledger_offences
from tests.loyalty.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TRIGGERS = (
    ("loyalty_lot", "loyalty_lot_fixed_columns"),
    ("loyalty_entry", "loyalty_entry_append_only"),
)


def opened(points: int = 120, key: str = "c", **kwargs) -> Lot:
    account = AccountFactory()
    entry = points_credit(
        account=account, points=points, kind=EntryKind.EARN, idempotency_key=key, **kwargs
    )
    return entry.lot


def tamper(sql: str, params: list) -> None:
    """What no service does: an edit straight in the database (on PostgreSQL by a superuser
    who first turns off the ledger's triggers, inside this test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER refuses pending FK checks
            for table, trigger in TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        cursor.execute(sql, params)


def verify_fails() -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="NOT consistent"):
        call_command("verify_ledger", stdout=StringIO(), stderr=err)
    return err.getvalue()


def offenders(check: str) -> list[int]:
    return [offence.row[0] for offence in ledger_offences() if offence.check == check]


def later(lot: Lot, days: int) -> object:
    return connection.ops.adapt_datetimefield_value(lot.expires_at + timedelta(days=days))


@pytest.mark.parametrize(
    ("column", "sql"),
    [
        ("points", "UPDATE loyalty_lot SET points = 12345 WHERE id = %(lot)s"),
        ("account", "UPDATE loyalty_lot SET account_id = %(other)s WHERE id = %(lot)s"),
        ("kind", "UPDATE loyalty_lot SET kind = 'bonus' WHERE id = %(lot)s"),
        ("expiry", "UPDATE loyalty_lot SET expires_at = %(later)s WHERE id = %(lot)s"),
        ("credit link", "UPDATE loyalty_entry SET lot_id = %(other_lot)s WHERE lot_id = %(lot)s"),
    ],
)
def test_a_lot_edited_in_the_database_fails_verify_ledger_naming_the_lot(column, sql) -> None:
    lot, other = opened(120, "a"), opened(50, "b")
    assert ledger_offences() == []

    tamper(
        sql,
        {"lot": lot.pk, "other": other.account_id, "other_lot": other.pk, "later": later(lot, 30)},
    )

    err = verify_fails()
    assert lot.pk in offenders("lot_matches_its_credit")
    description = LOT_CHECKS["lot_matches_its_credit"][0]
    assert f"lot_matches_its_credit: {description}: ({lot.pk}, " in err


def test_lot_points_changed_from_120_to_12345_is_the_only_offence() -> None:
    lot = opened(120)

    tamper("UPDATE loyalty_lot SET points = 12345 WHERE id = %s", [lot.pk])

    offences = ledger_offences()
    # (lot, its points, credits that opened it, entries that disagree with it)
    assert [(o.check, o.row[0], o.row[3], o.row[5], o.row[6]) for o in offences] == [
        ("lot_matches_its_credit", lot.pk, 12345, 1, 1)
    ]


def test_an_expired_lots_expiry_is_checked_against_its_expiry_entry_on_older_rows(clock) -> None:
    lot = opened(80, expires_at=None)
    tamper("UPDATE loyalty_entry SET lot_expires_at = NULL WHERE lot_id = %s", [lot.pk])
    clock.shift(timedelta(days=400))
    points_expire()
    assert ledger_offences() == []  # rows from before lot_expires_at existed still verify

    tamper("UPDATE loyalty_lot SET expires_at = %s WHERE id = %s", [later(lot, -10), lot.pk])

    assert offenders("lot_matches_its_credit") == [lot.pk]


def test_spending_expiring_and_restoring_keep_the_books_verified(clock) -> None:
    lot = opened(100)
    debit = points_debit(account=lot.account, points=40, idempotency_key="d")
    clock.shift(timedelta(days=400))
    points_expire()

    assert ledger_offences() == []
    assert debit.points == -40


@pytest.mark.skipif("connection.vendor == 'postgresql'")
def test_verify_ledger_on_sqlite_says_the_database_does_not_enforce_append_only() -> None:
    out = StringIO()

    call_command("verify_ledger", stdout=out)

    assert "note: this database (sqlite) does not enforce the append-only ledger" in out.getvalue()
    assert "ledger is consistent" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("points", 12345),
        ("kind", "bonus"),
        ("qualifying", True),
        ("expires_at", "2099-01-01T00:00:00Z"),
        ("available_at", "2000-01-01T00:00:00Z"),
    ],
)
def test_postgres_refuses_to_change_a_lots_fixed_columns(column, value) -> None:
    lot = opened(120)
    before = Lot.objects.values().get(pk=lot.pk)

    with (
        pytest.raises(IntegrityError, match=f"lot {lot.pk} is part of the points ledger"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # the column name comes from the parameters above, not from any input
        cursor.execute(f"UPDATE loyalty_lot SET {column} = %s WHERE id = %s", [value, lot.pk])  # noqa: S608

    assert Lot.objects.values().get(pk=lot.pk) == before


@pytest.mark.postgres
def test_postgres_refuses_to_move_a_lot_to_another_account_but_lets_it_be_spent() -> None:
    lot, other = opened(120, "a"), opened(50, "b")

    with pytest.raises(IntegrityError, match="part of the points ledger"), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(account_id=other.account_id)
    Lot.objects.get(pk=lot.pk).save()  # a whole-row save that changes nothing is fine
    points_debit(account=lot.account, points=20, idempotency_key="d")

    lot.refresh_from_db()
    assert (lot.account_id, lot.points, lot.remaining) == (lot.account.pk, 120, 100)
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert "does not enforce" not in out.getvalue()
    assert "ledger is consistent" in out.getvalue()
