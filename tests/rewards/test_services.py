from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail

from loyalty.errors import IdempotencyConflict, InsufficientPoints
from loyalty.models import Account, Entry, EntryKind, Lot
from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.codes import ALPHABET, voucher_code_new, voucher_code_normalize
from rewards.errors import RewardRefused
from rewards.models import Redemption, RedemptionStatus, Reward, Voucher, VoucherStatus
from rewards.selectors import rewards_affordable
from rewards.services import (
    redemption_cancel,
    reward_redeem,
    voucher_use,
    vouchers_cancel_for_closing,
    vouchers_expire,
)
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def account() -> Account:
    account = account_open(member=UserFactory())
    points_credit(
        account=account,
        points=300,
        kind="earn",
        idempotency_key="fund-soon",
        expires_at=NOW + timedelta(days=20),
    )
    points_credit(
        account=account,
        points=700,
        kind="earn",
        idempotency_key="fund-late",
        expires_at=NOW + timedelta(days=300),
    )
    return account


def state(account: Account, reward: Reward) -> tuple:
    account.refresh_from_db()
    reward.refresh_from_db()
    return (
        account.balance,
        reward.stock,
        Redemption.objects.count(),
        Voucher.objects.count(),
        Entry.objects.count(),
    )


def test_redeeming_moves_points_and_stock_and_issues_a_voucher(
    account, django_capture_on_commit_callbacks
) -> None:
    reward = RewardFactory(points_cost=400, stock=3, voucher_valid_days=30)

    with django_capture_on_commit_callbacks(execute=True):
        redemption = reward_redeem(account=account, reward=reward, idempotency_key="r1")

    assert state(account, reward)[:4] == (600, 2, 1, 1)
    taken = sorted(redemption.entry.allocations.values_list("lot__points", "points"))
    assert taken == [(300, 300), (700, 100)]  # earliest expiry first
    voucher = redemption.voucher
    assert voucher.status == VoucherStatus.ISSUED
    assert re.fullmatch(r"[23456789A-HJKMNP-Z]{5}-[23456789A-HJKMNP-Z]{5}", voucher.code)
    assert voucher.expires_at > NOW + timedelta(days=30)
    assert len(mail.outbox) == 1
    assert voucher.code in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][0].count(voucher.code) == 1


def test_same_key_redeems_once(account) -> None:
    reward = RewardFactory(points_cost=100)
    first = reward_redeem(account=account, reward=reward, idempotency_key="click")

    again = reward_redeem(account=account, reward=reward, idempotency_key="click")

    assert again.pk == first.pk
    assert state(account, reward)[:4] == (900, None, 1, 1)
    with pytest.raises(IdempotencyConflict):
        reward_redeem(account=account, reward=RewardFactory(), idempotency_key="click")


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ({"points_cost": 1001}, "insufficient_points"),
        ({"is_active": False}, "reward_unavailable"),
        ({"active_until": NOW - timedelta(seconds=1)}, "reward_unavailable"),
        ({"active_from": NOW + timedelta(days=1)}, "reward_unavailable"),
        ({"stock": 0}, "out_of_stock"),
        ({"min_tier": "gold"}, "tier_too_low"),
    ],
)
def test_refusals_are_clear_and_write_nothing(account, setup, code) -> None:
    if setup.get("min_tier") == "gold":
        setup = {"min_tier": TierFactory(name="Gold", rank=3, threshold=5000)}
    reward = RewardFactory(**setup)
    before = state(account, reward)

    with pytest.raises((RewardRefused, InsufficientPoints)) as refusal:
        reward_redeem(account=account, reward=reward, idempotency_key="no")

    assert refusal.value.code == code
    assert refusal.value.message
    assert state(account, reward) == before


def test_tier_message_names_the_tier(account) -> None:
    reward = RewardFactory(min_tier=TierFactory(name="Gold", rank=3, threshold=5000))
    with pytest.raises(RewardRefused, match=r"For Gold members and above\."):
        reward_redeem(account=account, reward=reward, idempotency_key="no")


def test_per_member_limit(account) -> None:
    reward = RewardFactory(points_cost=10, per_member_limit=2)
    reward_redeem(account=account, reward=reward, idempotency_key="a")
    reward_redeem(account=account, reward=reward, idempotency_key="b")
    before = state(account, reward)

    with pytest.raises(RewardRefused, match="reached the limit"):
        reward_redeem(account=account, reward=reward, idempotency_key="c")
    assert state(account, reward) == before


def test_cancel_restores_balance_lots_and_stock(account) -> None:
    reward = RewardFactory(points_cost=400, stock=5)
    lots_before = dict(Lot.objects.values_list("pk", "remaining"))
    redemption = reward_redeem(account=account, reward=reward, idempotency_key="r1")
    staff = UserFactory(is_staff=True)

    cancelled = redemption_cancel(redemption=redemption, by=staff, reason="Customer changed mind")

    assert cancelled.status == RedemptionStatus.CANCELLED
    assert cancelled.voucher.status == VoucherStatus.CANCELLED
    assert cancelled.restore_entry.kind == EntryKind.RESTORE
    assert state(account, reward)[:2] == (1000, 5)
    assert dict(Lot.objects.values_list("pk", "remaining")) == lots_before
    assert ledger_offences() == []
    assert redemption_cancel(redemption=redemption, by=staff).pk == redemption.pk  # idempotent


def test_member_may_cancel_only_within_the_window(account, clock, settings) -> None:
    settings.REDEMPTION_CANCEL_HOURS = 24
    reward = RewardFactory()
    early = reward_redeem(account=account, reward=reward, idempotency_key="r1")
    late = reward_redeem(account=account, reward=reward, idempotency_key="r2")
    clock.move_to(NOW + timedelta(hours=23))
    redemption_cancel(redemption=early, by=account.member, by_member=True)
    clock.move_to(NOW + timedelta(hours=25))

    with pytest.raises(RewardRefused, match="within 24 hours"):
        redemption_cancel(redemption=late, by=account.member, by_member=True)
    assert Redemption.objects.get(pk=late.pk).status == RedemptionStatus.COMPLETED


def test_used_vouchers_cannot_be_cancelled(account) -> None:
    redemption = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="r1")
    voucher_use(voucher=redemption.voucher, order_id="ORD-1")

    with pytest.raises(RewardRefused, match="unused"):
        redemption_cancel(redemption=redemption, by=UserFactory(is_staff=True))


def test_voucher_is_used_once(account) -> None:
    voucher = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="r").voucher

    used = voucher_use(voucher=voucher, order_id="ORD-7")
    with pytest.raises(RewardRefused, match=r"already used \(order ORD-7\)") as second:
        voucher_use(voucher=voucher, order_id="ORD-8")

    assert (used.status, used.used_order_id) == (VoucherStatus.USED, "ORD-7")
    assert second.value.code == "voucher_used"


def test_expired_vouchers_cannot_be_used(account, clock) -> None:
    reward = RewardFactory(voucher_valid_days=10)
    voucher = reward_redeem(account=account, reward=reward, idempotency_key="r").voucher
    clock.move_to(NOW + timedelta(days=12))

    with pytest.raises(RewardRefused, match="expired"):
        voucher_use(voucher=voucher, order_id="late")
    assert vouchers_expire() == 1
    assert vouchers_expire() == 0
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.EXPIRED


def test_closing_an_account_cancels_only_its_unused_vouchers(account) -> None:
    unused = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="a").voucher
    used = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="b").voucher
    voucher_use(voucher=used, order_id="ORD-1")
    other = account_open(member=UserFactory())
    points_credit(account=other, points=500, kind="earn", idempotency_key="other")
    theirs = reward_redeem(account=other, reward=RewardFactory(), idempotency_key="c").voucher
    balance, entries = Account.objects.get(pk=account.pk).balance, Entry.objects.count()

    cancelled = vouchers_cancel_for_closing(account_id=account.pk)

    statuses = dict(Voucher.objects.values_list("pk", "status"))
    assert cancelled == 1
    assert (statuses[unused.pk], statuses[used.pk], statuses[theirs.pk]) == (
        VoucherStatus.CANCELLED,
        VoucherStatus.USED,
        VoucherStatus.ISSUED,
    )
    assert Account.objects.get(pk=account.pk).balance == balance  # no points back
    assert Entry.objects.count() == entries
    assert set(Redemption.objects.values_list("status", flat=True)) == {RedemptionStatus.COMPLETED}
    with pytest.raises(RewardRefused) as refusal:
        voucher_use(voucher=unused, order_id="ORD-2")
    assert refusal.value.code == "voucher_cancelled"
    assert vouchers_cancel_for_closing(account_id=account.pk) == 0


def test_voucher_codes_are_random_readable_and_unique() -> None:
    codes = {voucher_code_new() for _ in range(2000)}

    assert len(codes) == 2000
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    assert set("".join(codes).replace("-", "")) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)
    assert len(ALPHABET) ** 10 > 2**40


def test_codes_are_read_as_a_cashier_types_them() -> None:
    assert voucher_code_normalize(" 7kq4m xw9td ") == "7KQ4M-XW9TD"
    assert voucher_code_normalize("7KQ4M-XW9TD") == "7KQ4M-XW9TD"


def test_affordable_rewards_follow_stock_limits_and_edits(
    account, django_capture_on_commit_callbacks
) -> None:
    last_one = RewardFactory(points_cost=100, stock=1, sort_order=1)
    twice = RewardFactory(points_cost=50, per_member_limit=2, sort_order=2)
    too_dear = RewardFactory(points_cost=5000, sort_order=3)
    later = RewardFactory(points_cost=10, active_from=NOW + timedelta(days=1), sort_order=4)
    other = account_open(member=UserFactory())
    points_credit(account=other, points=500, kind="earn", idempotency_key="other")

    assert rewards_affordable(account=account, limit=3) == [last_one, twice]

    with django_capture_on_commit_callbacks(execute=True):  # someone else takes the last one
        reward_redeem(account=other, reward=last_one, idempotency_key="o1")
    for key in ("t1", "t2"):
        reward_redeem(account=account, reward=twice, idempotency_key=key)
    account.refresh_from_db()
    assert rewards_affordable(account=account, limit=3) == []

    too_dear.points_cost = 10
    too_dear.save()
    assert rewards_affordable(account=account, limit=3) == [too_dear]
    assert later in rewards_affordable(account=account, limit=3, at=NOW + timedelta(days=2))
