"""verify_ledger proves every column that defines a lot's money against its entries, and
on PostgreSQL the database refuses edits of those columns in the first place."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import CampaignKind, Entry, EntryKind, Lot, LotState
from loyalty.services.apikeys import api_key_create
from loyalty.services.expiry import pending_release, points_expire
from loyalty.services.imports import events_import, rows_read
from loyalty.services.ledger import points_credit, points_debit
from loyalty.verification import LOT_CHECKS, ledger_offences
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import AccountFactory, CampaignFactory, EarningRuleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

DESCRIPTION = LOT_CHECKS["lot_matches_its_credit"][0]
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
        ("availability", "UPDATE loyalty_lot SET available_at = %(later)s WHERE id = %(lot)s"),
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
    assert [(o.check, o.row[0], o.row[3], o.row[6], o.row[7]) for o in offences] == [
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


def pending(points: int = 120, key: str = "p") -> Lot:
    """A purchase's points held for the 14-day return window."""
    return opened(points, key, available_at=timezone.now() + timedelta(days=14))


def moved(lot: Lot, days: int) -> object:
    return connection.ops.adapt_datetimefield_value(lot.available_at + timedelta(days=days))


def test_a_pending_lot_moved_to_yesterday_fails_verify_before_and_after_its_release() -> None:
    lot, other = pending(120, "p"), pending(50, "q")
    assert ledger_offences() == []

    tamper(
        "UPDATE loyalty_lot SET available_at = %s WHERE id = %s",
        [connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=1)), lot.pk],
    )

    assert f"lot_matches_its_credit: {DESCRIPTION}: ({lot.pk}, " in verify_fails()
    call_command("run_job", "release_pending", stdout=StringIO())
    lot.refresh_from_db()
    assert lot.state == LotState.AVAILABLE  # released 15 days early
    assert Lot.objects.get(pk=other.pk).state == LotState.PENDING
    assert f"lot_matches_its_credit: {DESCRIPTION}: ({lot.pk}, " in verify_fails()
    assert offenders("lot_matches_its_credit") == [lot.pk]


def test_an_available_lots_availability_moved_fails_verify_naming_the_lot() -> None:
    lot = opened(120, "a")
    opened(50, "b")
    assert ledger_offences() == []

    tamper("UPDATE loyalty_lot SET available_at = %s WHERE id = %s", [moved(lot, -3), lot.pk])

    assert f"lot_matches_its_credit: {DESCRIPTION}: ({lot.pk}, " in verify_fails()
    assert offenders("lot_matches_its_credit") == [lot.pk]


def test_a_released_lots_availability_is_checked_against_its_release_entry_on_older_rows(
    clock,
) -> None:
    lot = pending(80)
    tamper("UPDATE loyalty_entry SET lot_available_at = NULL WHERE lot_id = %s", [lot.pk])
    clock.shift(timedelta(days=15))
    pending_release()
    assert ledger_offences() == []  # rows from before lot_available_at existed still verify

    tamper("UPDATE loyalty_lot SET available_at = %s WHERE id = %s", [moved(lot, -10), lot.pk])

    assert offenders("lot_matches_its_credit") == [lot.pk]


def test_every_credit_writer_records_the_lots_availability_on_its_credit(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    CampaignFactory(kind=CampaignKind.MULTIPLIER, multiplier=Decimal("2.00"), budget_points=1000)
    pending(30, "direct")  # ORM path on SQLite, the one-statement SQL path on PostgreSQL
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    member = AccountFactory().member
    answer = api.post(
        "/api/v1/events/",
        {
            "idempotency_key": "evt-1",
            "type": "purchase",
            "member_id": member.pk,
            "amount": "40.00",
            "currency": "EUR",
            "order_id": "order-1",
            "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    AccountFactory(member=UserFactory(email="csv@example.com"))
    occurred = (timezone.now() - timedelta(hours=2)).isoformat()
    events_import(
        rows=rows_read(
            io.StringIO(
                "order_id,member_email,amount,currency,occurred_at\n"
                f"CSV-1,csv@example.com,25.00,EUR,{occurred}\n"
            )
        )
    )

    credits = Entry.objects.filter(lot__isnull=False).order_by("id")
    recorded = [(e.lot_available_at, e.lot.available_at, e.lot.state) for e in credits]
    assert answer.status_code == 201
    assert len(recorded) == 5  # direct, purchase base + campaign, import base + campaign
    assert all(e.lot_available_at is not None for e in credits)
    assert [r[0] for r in recorded] == [r[1] for r in recorded]
    assert {r[2] for r in recorded} == {LotState.PENDING}
    assert ledger_offences() == []


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
