from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from loyalty.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidPoints,
    NotRestorable,
    NotReversible,
)
from loyalty.models import Account, Allocation, Entry, EntryKind, Lot, LotState
from loyalty.services.ledger import (
    credit_reverse,
    debit_restore,
    points_adjust,
    points_credit,
    points_credit_many,
    points_debit,
)
from loyalty.verification import ledger_offences
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def account() -> Account:
    return AccountFactory()


def credit(account: Account, points: int, key: str, **kwargs) -> Entry:
    return points_credit(
        account=account, points=points, kind=EntryKind.EARN, idempotency_key=key, **kwargs
    )


def days(n: int) -> timedelta:
    return timedelta(days=n)


def snapshot(account: Account) -> tuple:
    account.refresh_from_db()
    return (
        account.balance,
        account.pending,
        account.lifetime_earned,
        Entry.objects.count(),
        Lot.objects.count(),
        Allocation.objects.count(),
    )


def assert_books_balance() -> None:
    assert ledger_offences() == []


# --- credit -----------------------------------------------------------------


def test_credit_opens_an_available_lot_with_rolling_expiry(account, settings) -> None:
    settings.TIME_ZONE = "UTC"
    entry = credit(account, 120, "order-1", qualifying=True, source="order:1")

    account.refresh_from_db()
    assert (account.balance, account.pending, account.lifetime_earned) == (120, 0, 120)
    assert account.qualifying_points == 120
    assert (entry.points, entry.pending_points, entry.qualifying_points) == (120, 0, 120)
    lot = entry.lot
    assert (lot.points, lot.remaining, lot.state) == (120, 120, LotState.AVAILABLE)
    # 365 days later, valid through the whole of that day.
    assert lot.expires_at == datetime(2027, 6, 2, 0, 0, tzinfo=UTC)
    assert_books_balance()


def test_credit_with_future_availability_is_pending(account) -> None:
    entry = credit(account, 80, "order-2", available_at=NOW + days(14), qualifying=True)

    account.refresh_from_db()
    assert (account.balance, account.pending, account.qualifying_points) == (0, 80, 0)
    assert (entry.points, entry.pending_points) == (0, 80)
    assert entry.lot.state == LotState.PENDING
    with pytest.raises(InsufficientPoints):
        points_debit(account=account, points=1, idempotency_key="spend-pending")
    assert_books_balance()


def test_credit_replay_returns_the_first_entry_and_writes_nothing(account) -> None:
    first = credit(account, 50, "same-key")
    before = snapshot(account)

    again = credit(account, 50, "same-key")

    assert again.pk == first.pk
    assert snapshot(account) == before


def test_same_key_for_a_different_credit_is_a_conflict(account) -> None:
    credit(account, 50, "shared-key")
    before = snapshot(account)

    with pytest.raises(IdempotencyConflict, match="shared-key"):
        credit(account, 51, "shared-key")
    with pytest.raises(IdempotencyConflict):
        credit(AccountFactory(), 50, "shared-key")

    assert snapshot(account) == before


def test_several_credits_at_once_equal_the_same_credits_one_by_one(account) -> None:
    other = AccountFactory()
    wanted = [
        {"points": 40, "kind": EntryKind.EARN, "idempotency_key": "m-base", "qualifying": True},
        {"points": 20, "kind": EntryKind.BONUS, "idempotency_key": "m-tier"},
        {
            "points": 7,
            "kind": EntryKind.BONUS,
            "idempotency_key": "m-camp",
            "available_at": NOW + days(14),
            "expires_at": NOW + days(30),
            "details": {"campaign": "Spring"},
        },
    ]

    together = points_credit_many(account=account, credits=wanted)
    one_by_one = [
        points_credit(account=other, **{**c, "idempotency_key": "o-" + c["idempotency_key"]})
        for c in wanted
    ]

    assert (account.balance, account.pending, account.qualifying_points) == (60, 7, 40)
    assert snapshot(account)[:3] == snapshot(other)[:3] == (60, 7, 67)
    for mine, theirs in zip(together, one_by_one, strict=True):
        mine.refresh_from_db()
        theirs.refresh_from_db()
        assert mine.lot.account_id == account.pk
        assert (mine.kind, mine.points, mine.pending_points, mine.details) == (
            theirs.kind,
            theirs.points,
            theirs.pending_points,
            theirs.details,
        )
        assert (mine.lot.state, mine.lot.expires_at, mine.lot.remaining) == (
            theirs.lot.state,
            theirs.lot.expires_at,
            theirs.lot.remaining,
        )
    assert_books_balance()


def test_several_credits_replay_together_and_conflict_like_one(account) -> None:
    wanted = [
        {"points": 40, "kind": EntryKind.EARN, "idempotency_key": "r-1"},
        {"points": 5, "kind": EntryKind.BONUS, "idempotency_key": "r-2"},
    ]
    first = points_credit_many(account=account, credits=wanted)
    before = snapshot(account)

    again = points_credit_many(account=account, credits=wanted)

    assert [e.pk for e in again] == [e.pk for e in first]
    assert snapshot(account) == before
    with pytest.raises(IdempotencyConflict):
        points_credit_many(account=account, credits=[{**wanted[0], "points": 41}])
    assert snapshot(account) == before


@pytest.mark.parametrize("points", [0, -5, 1.5, True, "10", None])
def test_credit_refuses_anything_but_a_positive_integer(account, points) -> None:
    with pytest.raises(InvalidPoints, match="positive whole number"):
        credit(account, points, f"bad-{points!r}")
    assert snapshot(account) == (0, 0, 0, 0, 0, 0)


def test_credit_that_would_already_be_expired_is_refused(account) -> None:
    with pytest.raises(InvalidPoints, match="already have expired"):
        credit(account, 10, "late", expires_at=NOW - days(1))
    assert snapshot(account) == (0, 0, 0, 0, 0, 0)


def test_redeem_is_not_a_credit_kind(account) -> None:
    with pytest.raises(InvalidPoints):
        points_credit(account=account, points=5, kind=EntryKind.REDEEM, idempotency_key="k")


# --- debit ------------------------------------------------------------------


def test_debit_takes_earliest_expiry_first_then_oldest(account) -> None:
    late = credit(account, 100, "late", expires_at=NOW + days(300))
    soon_old = credit(account, 30, "soon-old", expires_at=NOW + days(20))
    soon_new = credit(account, 30, "soon-new", expires_at=NOW + days(20))
    bonus = credit(account, 40, "bonus", expires_at=NOW + days(10))

    debit = points_debit(account=account, points=90, idempotency_key="redeem-1")

    taken = list(debit.allocations.order_by("id").values_list("lot_id", "points"))
    assert taken == [(bonus.lot_id, 40), (soon_old.lot_id, 30), (soon_new.lot_id, 20)]
    remaining = {e.lot_id: Lot.objects.get(pk=e.lot_id).remaining for e in (late, soon_new)}
    assert remaining == {late.lot_id: 100, soon_new.lot_id: 10}
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned) == (110, 200)
    assert debit.points == -90
    assert_books_balance()


def test_debit_refuses_to_overspend_and_writes_nothing(account) -> None:
    credit(account, 60, "c1")
    before = snapshot(account)

    with pytest.raises(InsufficientPoints) as refusal:
        points_debit(account=account, points=61, idempotency_key="too-much")

    assert refusal.value.message == "Not enough points: 60 available, 61 needed."
    assert (refusal.value.available, refusal.value.requested) == (60, 61)
    assert snapshot(account) == before


def test_debit_never_spends_a_lot_past_its_expiry(account, clock) -> None:
    old = credit(account, 50, "old", expires_at=NOW + days(5))
    credit(account, 20, "new", expires_at=NOW + days(50))
    clock.move_to(NOW + days(6))  # the expiry job has not run yet

    with pytest.raises(InsufficientPoints, match="20 available, 30 needed"):
        points_debit(account=account, points=30, idempotency_key="after-expiry")
    debit = points_debit(account=account, points=20, idempotency_key="after-expiry-2")

    assert not debit.allocations.filter(lot_id=old.lot_id).exists()
    assert Entry.objects.get(kind=EntryKind.EXPIRE).points == -50
    account.refresh_from_db()
    assert account.balance == 0
    assert_books_balance()


def test_debit_replay_returns_the_first_entry(account) -> None:
    credit(account, 100, "c")
    first = points_debit(account=account, points=30, idempotency_key="redeem-x")
    before = snapshot(account)

    assert points_debit(account=account, points=30, idempotency_key="redeem-x").pk == first.pk
    with pytest.raises(IdempotencyConflict):
        points_debit(account=account, points=31, idempotency_key="redeem-x")
    assert snapshot(account) == before


# --- reverse ----------------------------------------------------------------


def test_reversing_a_pending_credit_cancels_it(account) -> None:
    purchase = credit(account, 70, "buy", available_at=NOW + days(14))

    result = credit_reverse(credit=purchase, idempotency_key="refund-1")

    assert (result.requested, result.from_lot, result.clawed_back, result.forgiven) == (
        70,
        70,
        0,
        0,
    )
    account.refresh_from_db()
    assert (account.balance, account.pending, account.lifetime_earned) == (0, 0, 0)
    lot = Lot.objects.get(pk=purchase.lot_id)
    assert (lot.remaining, lot.state) == (0, LotState.REVERSED)
    assert result.entry.pending_points == -70
    assert_books_balance()


def test_partial_reversals_add_up_and_stop_at_the_credit(account) -> None:
    purchase = credit(account, 100, "buy", qualifying=True)

    first = credit_reverse(credit=purchase, idempotency_key="refund-a", points=30)
    second = credit_reverse(credit=purchase, idempotency_key="refund-b", points=100)
    third = credit_reverse(credit=purchase, idempotency_key="refund-c", points=5)

    assert (first.requested, second.requested, third.requested) == (30, 70, 0)
    assert third.entry is None
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned, account.qualifying_points) == (0, 0, 0)
    assert_books_balance()


def test_reversal_claws_back_spent_points_from_other_lots(account) -> None:
    purchase = credit(account, 100, "buy", expires_at=NOW + days(10))
    credit(account, 50, "other", expires_at=NOW + days(200))
    points_debit(account=account, points=80, idempotency_key="spend")  # 80 from the purchase

    result = credit_reverse(credit=purchase, idempotency_key="refund")

    assert (result.requested, result.from_lot, result.clawed_back, result.forgiven) == (
        100,
        20,
        50,
        30,
    )
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned) == (0, 80)  # 150 earned, 70 taken back
    assert result.entry.details["forgiven"] == 30
    assert_books_balance()


def test_reversal_does_not_take_expired_points_twice(account, clock) -> None:
    purchase = credit(account, 100, "buy", expires_at=NOW + days(3))
    credit(account, 500, "other", expires_at=NOW + days(300))
    points_debit(account=account, points=40, idempotency_key="spend")  # 40 of the purchase
    clock.move_to(NOW + days(4))  # the other 60 of the purchase expire

    result = credit_reverse(credit=purchase, idempotency_key="refund")

    assert (result.requested, result.from_lot, result.clawed_back, result.forgiven) == (
        40,
        0,
        40,
        0,
    )
    account.refresh_from_db()
    assert account.balance == 460
    assert_books_balance()


def test_reversal_replay_and_conflict(account) -> None:
    purchase = credit(account, 100, "buy")
    first = credit_reverse(credit=purchase, idempotency_key="refund", points=25)
    before = snapshot(account)

    again = credit_reverse(credit=purchase, idempotency_key="refund", points=25)

    assert again.entry.pk == first.entry.pk
    with pytest.raises(IdempotencyConflict):
        credit_reverse(credit=purchase, idempotency_key="refund", points=26)
    assert snapshot(account) == before


def test_only_credits_can_be_reversed(account) -> None:
    credit(account, 10, "c")
    debit = points_debit(account=account, points=5, idempotency_key="d")
    with pytest.raises(NotReversible):
        credit_reverse(credit=debit, idempotency_key="nope")


# --- restore ----------------------------------------------------------------


def test_restore_gives_points_back_to_the_same_lots(account) -> None:
    soon = credit(account, 40, "soon", expires_at=NOW + days(30))
    later = credit(account, 100, "later", expires_at=NOW + days(300))
    redemption = points_debit(account=account, points=70, idempotency_key="redeem")

    restore = debit_restore(debit=redemption, idempotency_key="cancel")

    account.refresh_from_db()
    assert account.balance == 140
    assert restore.points == 70
    given = sorted(restore.allocations.values_list("lot_id", "points"))
    assert given == sorted([(soon.lot_id, -40), (later.lot_id, -30)])
    assert Lot.objects.get(pk=soon.lot_id).remaining == 40
    assert Lot.objects.get(pk=later.lot_id).remaining == 100
    assert_books_balance()


def test_restore_happens_once(account) -> None:
    credit(account, 50, "c")
    redemption = points_debit(account=account, points=50, idempotency_key="redeem")
    first = debit_restore(debit=redemption, idempotency_key="cancel")
    before = snapshot(account)

    assert debit_restore(debit=redemption, idempotency_key="cancel").pk == first.pk
    with pytest.raises(NotRestorable, match="already given back"):
        debit_restore(debit=redemption, idempotency_key="cancel-again")
    assert snapshot(account) == before


def test_restored_points_keep_their_expiry_and_expire_if_it_passed(account, clock) -> None:
    soon = credit(account, 40, "soon", expires_at=NOW + days(5))
    credit(account, 100, "later", expires_at=NOW + days(300))
    redemption = points_debit(account=account, points=60, idempotency_key="redeem")
    clock.move_to(NOW + days(10))

    debit_restore(debit=redemption, idempotency_key="cancel")

    account.refresh_from_db()
    assert account.balance == 100  # the 40 from the expired lot came back and expired again
    lot = Lot.objects.get(pk=soon.lot_id)
    assert (lot.state, lot.remaining, lot.expired) == (LotState.EXPIRED, 0, 40)
    assert_books_balance()


def test_restore_settles_points_a_reversal_had_to_forgive(account) -> None:
    purchase = credit(account, 100, "buy")
    redemption = points_debit(account=account, points=100, idempotency_key="redeem")
    refund = credit_reverse(credit=purchase, idempotency_key="refund")
    assert (refund.forgiven, refund.entry) == (100, None)

    restore = debit_restore(debit=redemption, idempotency_key="cancel")

    assert restore.points == 0  # the refunded purchase's points do not come back
    assert restore.details["settled"] == {str(purchase.lot_id): 100}
    with pytest.raises(NotRestorable):
        debit_restore(debit=redemption, idempotency_key="cancel-again")
    account.refresh_from_db()
    assert account.balance == 0
    assert_books_balance()


def test_only_debits_can_be_restored(account) -> None:
    entry = credit(account, 10, "c")
    with pytest.raises(NotRestorable):
        debit_restore(debit=entry, idempotency_key="x")


# --- staff adjustment -------------------------------------------------------


def test_adjustments_record_the_staff_user_and_reason(account) -> None:
    staff = UserFactory(is_staff=True)

    plus = points_adjust(
        account=account, points=25, reason="Goodwill", staff_user=staff, idempotency_key="a1"
    )
    minus = points_adjust(
        account=account, points=-10, reason="Duplicate", staff_user=staff, idempotency_key="a2"
    )

    account.refresh_from_db()
    assert account.balance == 15
    assert (plus.kind, plus.points, plus.created_by, plus.note) == (
        EntryKind.ADJUST,
        25,
        staff,
        "Goodwill",
    )
    assert (minus.kind, minus.points, minus.created_by, minus.note) == (
        EntryKind.ADJUST,
        -10,
        staff,
        "Duplicate",
    )
    assert_books_balance()


@pytest.mark.parametrize(
    ("points", "reason", "message"), [(5, " ", "reason"), (0, "x", "non-zero")]
)
def test_adjustment_needs_a_reason_and_points(account, points, reason, message) -> None:
    staff = UserFactory(is_staff=True)
    with pytest.raises(InvalidPoints, match=message):
        points_adjust(
            account=account, points=points, reason=reason, staff_user=staff, idempotency_key="a"
        )
    assert snapshot(account) == (0, 0, 0, 0, 0, 0)


def test_negative_adjustment_cannot_overdraw(account) -> None:
    staff = UserFactory(is_staff=True)
    with pytest.raises(InsufficientPoints):
        points_adjust(
            account=account, points=-1, reason="Oops", staff_user=staff, idempotency_key="a"
        )


# --- the database refuses what the services never do ------------------------


def test_database_refuses_a_negative_balance(account) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1)


def test_database_refuses_remaining_above_points(account) -> None:
    lot = credit(account, 10, "c").lot
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(remaining=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(remaining=-1)


def test_database_refuses_an_entry_that_moves_nothing(account) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            account=account, kind=EntryKind.EARN, idempotency_key="zero", occurred_at=NOW
        )


def test_database_refuses_a_duplicate_idempotency_key(account) -> None:
    credit(account, 10, "dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(
            account=account, kind=EntryKind.EARN, points=1, idempotency_key="dup", occurred_at=NOW
        )


def test_database_refuses_a_closed_lot_with_points(account) -> None:
    lot = credit(account, 10, "c").lot
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=lot.pk).update(state=LotState.EXPIRED)


def test_database_refuses_restoring_a_debit_twice(account) -> None:
    credit(account, 10, "c")
    debit = points_debit(account=account, points=4, idempotency_key="d")
    first = {"account": account, "kind": EntryKind.RESTORE, "points": 4, "occurred_at": NOW}
    Entry.objects.create(**first, related_entry=debit, idempotency_key="r1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(**first, related_entry=debit, idempotency_key="r2")
