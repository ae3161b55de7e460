"""Real threads on separate PostgreSQL connections racing for rewards."""

from __future__ import annotations

import pytest

from loyalty.errors import InsufficientPoints
from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.errors import RewardRefused
from rewards.models import Redemption, Voucher
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.loyalty.test_ledger_concurrency import race
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def funded(points: int):
    account = account_open(member=UserFactory())
    points_credit(account=account, points=points, kind="earn", idempotency_key=f"f{account.pk}")
    return account


def test_fifty_members_racing_for_ten_in_stock_get_exactly_ten_vouchers() -> None:
    reward = RewardFactory(points_cost=50, stock=10)
    accounts = [funded(100) for _ in range(50)]

    results = race(
        50, lambda i: reward_redeem(account=accounts[i], reward=reward, idempotency_key=f"race-{i}")
    )

    won = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, RewardRefused)]
    assert (len(won), len(refused)) == (10, 40)
    assert {r.code for r in refused} == {"out_of_stock"}
    reward.refresh_from_db()
    assert reward.stock == 0
    assert Voucher.objects.count() == 10
    assert ledger_offences() == []


def test_concurrent_redemptions_never_overspend_one_balance() -> None:
    account = funded(1000)
    reward = RewardFactory(points_cost=300)

    results = race(
        12, lambda i: reward_redeem(account=account, reward=reward, idempotency_key=f"spend-{i}")
    )

    assert sum(isinstance(r, Redemption) for r in results) == 3
    assert sum(isinstance(r, InsufficientPoints) for r in results) == 9
    account.refresh_from_db()
    assert account.balance == 100
    assert Voucher.objects.count() == 3
    assert ledger_offences() == []
