from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from loyalty.models import Account, Entry, EntryKind, Lot, LotState
from loyalty.services.expiry import pending_release, points_expire
from loyalty.services.ledger import points_credit, points_debit
from loyalty.timing import end_of_day, last_valid_day, parse_as_of
from loyalty.verification import ledger_offences
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def credit(account: Account, points: int, key: str, **kwargs) -> Lot:
    entry = points_credit(
        account=account, points=points, kind=EntryKind.EARN, idempotency_key=key, **kwargs
    )
    return entry.lot


def balances(*accounts: Account) -> list[tuple[int, int]]:
    for account in accounts:
        account.refresh_from_db()
    return [(a.balance, a.pending) for a in accounts]


def test_expire_takes_only_what_is_due_as_of_the_given_time() -> None:
    a, b = AccountFactory(), AccountFactory()
    due_a = credit(a, 100, "a1", expires_at=NOW + timedelta(days=2))
    credit(a, 50, "a2", expires_at=NOW + timedelta(days=20))
    due_b = credit(b, 30, "b1", expires_at=NOW + timedelta(days=1))
    points_debit(account=a, points=40, idempotency_key="spend")  # 40 of due_a spent

    report = points_expire(as_of=NOW + timedelta(days=3))

    assert (report.lots, report.points, report.accounts) == (2, 90, 2)
    assert balances(a, b) == [(50, 0), (0, 0)]
    expiries = Entry.objects.filter(kind=EntryKind.EXPIRE).order_by("points")
    assert [(e.lot_id, e.points) for e in expiries] == [(due_a.pk, -60), (due_b.pk, -30)]
    assert expiries[0].occurred_at == due_a.expires_at
    due_a.refresh_from_db()
    assert (due_a.state, due_a.remaining, due_a.expired) == (LotState.EXPIRED, 0, 60)
    assert ledger_offences() == []


def test_expire_again_changes_nothing() -> None:
    account = AccountFactory()
    credit(account, 10, "c", expires_at=NOW + timedelta(days=1))
    points_expire(as_of=NOW + timedelta(days=2))
    entries = Entry.objects.count()

    report = points_expire(as_of=NOW + timedelta(days=2))

    assert (report.lots, report.points) == (0, 0)
    assert Entry.objects.count() == entries
    assert balances(account) == [(0, 0)]


def test_dry_run_reports_and_writes_nothing() -> None:
    account = AccountFactory()
    credit(account, 70, "c", expires_at=NOW + timedelta(days=1))
    entries = Entry.objects.count()

    report = points_expire(as_of=NOW + timedelta(days=2), dry_run=True)

    assert (report.lots, report.points, report.accounts) == (1, 70, 1)
    assert Entry.objects.count() == entries
    assert balances(account) == [(70, 0)]
    assert Lot.objects.get().state == LotState.AVAILABLE


def test_expiry_works_in_batches_of_accounts() -> None:
    accounts = [AccountFactory() for _ in range(5)]
    for i, account in enumerate(accounts):
        credit(account, 10 + i, f"c{i}", expires_at=NOW + timedelta(days=1))

    report = points_expire(as_of=NOW + timedelta(days=1), batch_size=2)

    assert (report.lots, report.points, report.accounts) == (5, 60, 5)
    assert balances(*accounts) == [(0, 0)] * 5
    assert ledger_offences() == []


def test_expiry_is_exactly_at_the_end_of_the_last_day_in_program_time(settings) -> None:
    settings.TIME_ZONE = "Asia/Tehran"  # UTC+03:30
    account = AccountFactory()
    lot = credit(account, 25, "c", expires_at=end_of_day(date(2026, 6, 10)))

    assert lot.expires_at == datetime(2026, 6, 10, 20, 30, tzinfo=UTC)
    assert last_valid_day(lot.expires_at) == date(2026, 6, 10)
    assert points_expire(as_of=datetime(2026, 6, 10, 20, 29, 59, tzinfo=UTC)).lots == 0
    assert points_expire(as_of=datetime(2026, 6, 10, 20, 30, tzinfo=UTC)).lots == 1


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2026, 3, 28), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # next midnight is CET
        (date(2026, 3, 29), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # clocks went forward
        (date(2026, 10, 24), datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # still CEST
        (date(2026, 10, 25), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # clocks went back
    ],
)
def test_end_of_day_across_daylight_saving_changes(settings, day, expected_utc) -> None:
    settings.TIME_ZONE = "Europe/Berlin"

    assert end_of_day(day) == expected_utc
    assert last_valid_day(end_of_day(day)) == day


def test_release_makes_pending_points_available_once() -> None:
    account = AccountFactory()
    lot = credit(account, 80, "buy", available_at=NOW + timedelta(days=14), qualifying=True)

    early = pending_release(as_of=NOW + timedelta(days=13))
    report = pending_release(as_of=NOW + timedelta(days=14))
    again = pending_release(as_of=NOW + timedelta(days=15))

    assert (early.lots, report.lots, report.points, again.lots) == (0, 1, 80, 0)
    account.refresh_from_db()
    assert (account.balance, account.pending, account.qualifying_points) == (80, 0, 80)
    release = Entry.objects.get(kind=EntryKind.RELEASE)
    assert (release.points, release.pending_points, release.lot_id) == (80, -80, lot.pk)
    assert release.occurred_at == lot.available_at
    assert ledger_offences() == []


def test_release_dry_run_writes_nothing() -> None:
    account = AccountFactory()
    credit(account, 80, "buy", available_at=NOW + timedelta(days=1))

    report = pending_release(as_of=NOW + timedelta(days=2), dry_run=True)

    assert (report.lots, report.points) == (1, 80)
    assert balances(account) == [(0, 80)]


# --- commands -----------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_expire_points_command_with_as_of_and_dry_run() -> None:
    account = AccountFactory()
    credit(account, 15, "c", expires_at=datetime(2026, 6, 5, tzinfo=UTC))

    dry = run("expire_points", "--as-of", "2026-06-05T00:00:00+00:00", "--dry-run")
    real = run("expire_points", "--as-of", "2026-06-05T00:00:00+00:00")

    assert dry.strip() == "would expire 15 points in 1 lots of 1 accounts"
    assert real.strip() == "expired 15 points in 1 lots of 1 accounts"
    assert balances(account) == [(0, 0)]


def test_release_pending_command() -> None:
    account = AccountFactory()
    credit(account, 9, "c", available_at=NOW + timedelta(days=3))

    out = run("release_pending", "--as-of", "2026-06-05")

    assert out.strip() == "released 9 points in 1 lots of 1 accounts"
    assert balances(account) == [(9, 0)]


def test_bad_as_of_is_a_clear_error() -> None:
    with pytest.raises(CommandError, match="not an ISO date"):
        run("expire_points", "--as-of", "next tuesday")


def test_parse_as_of_reads_dates_in_program_time(settings) -> None:
    settings.TIME_ZONE = "Europe/Moscow"

    assert parse_as_of("2026-01-02") == datetime(2026, 1, 1, 21, 0, tzinfo=UTC)
    assert parse_as_of("2026-01-02T10:00") == datetime(2026, 1, 2, 7, 0, tzinfo=UTC)
    assert parse_as_of("2026-01-02T10:00Z") == datetime(2026, 1, 2, 10, 0, tzinfo=UTC)


def test_verify_ledger_passes_on_consistent_books() -> None:
    account = AccountFactory()
    credit(account, 100, "c")
    points_debit(account=account, points=30, idempotency_key="d")

    out = run("verify_ledger")

    assert "ledger is consistent" in out
    assert "outstanding: 70 available, 0 pending" in out


def test_verify_ledger_names_a_tampered_balance_and_fails() -> None:
    account = AccountFactory()
    credit(account, 100, "c")
    with connection.cursor() as cursor:  # what no service ever does
        cursor.execute("UPDATE loyalty_account SET balance = 90 WHERE id = %s", [account.pk])
    err = StringIO()

    with pytest.raises(CommandError, match="NOT consistent"):
        call_command("verify_ledger", stdout=StringIO(), stderr=err)

    assert (
        "balance_matches_entries: account balance, pending or lifetime points differ"
        in err.getvalue()
    )
    assert f"({account.pk}, 90, 0, 100, 100, 0, 100)" in err.getvalue()
    assert "balance_matches_lots" in err.getvalue()


def test_verify_ledger_spots_a_lot_changed_behind_the_ledgers_back() -> None:
    account = AccountFactory()
    lot = credit(account, 100, "c")
    Lot.objects.filter(pk=lot.pk).update(remaining=60)
    Account.objects.filter(pk=account.pk).update(balance=60)

    checks = {offence.check for offence in ledger_offences()}

    assert checks == {"balance_matches_entries", "lot_matches_its_history"}
