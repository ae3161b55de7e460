"""Real threads on separate PostgreSQL connections racing for rewards."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from loyalty.errors import InsufficientPoints
from loyalty.models import Account
from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.errors import RewardRefused
from rewards.models import Redemption, RedemptionStatus, Voucher, VoucherStatus
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


def _cancel_and_use(round_: int, reward) -> tuple[Redemption, Client, APIClient]:
    account = funded(300)
    redemption = reward_redeem(account=account, reward=reward, idempotency_key=f"r{round_}")
    member = Client()
    member.force_login(account.member)
    shop = APIClient()
    shop.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name=f'Shop {round_}')[1]}")
    return redemption, member, shop


def _assert_one_winner(redemption: Redemption, cancel, use, order_id: str) -> str:
    """Exactly one of the member's cancel and the shop's use took effect; return which."""
    voucher = Voucher.objects.get(pk=redemption.voucher.pk)
    redemption.refresh_from_db()
    balance = Account.objects.get(pk=redemption.account_id).balance
    told = [str(m) for m in get_messages(cancel.wsgi_request)]
    if use.status_code == 200:
        assert use.json()["status"] == VoucherStatus.USED
        assert (voucher.status, voucher.used_order_id) == (VoucherStatus.USED, order_id)
        assert (redemption.status, redemption.restore_entry_id) == (
            RedemptionStatus.COMPLETED,
            None,
        )
        assert balance == 200
        assert told == ["Only an unused, valid voucher can be cancelled."]
        return "use"
    assert (use.status_code, use.json()["error"]["code"]) == (409, "voucher_cancelled")
    assert (voucher.status, voucher.used_order_id, voucher.used_at) == (
        VoucherStatus.CANCELLED,
        "",
        None,
    )
    assert redemption.status == RedemptionStatus.CANCELLED
    assert balance == 300
    assert told == ["Cancelled: your points are back."]
    return "cancel"


def test_member_cancel_racing_the_shops_use_has_exactly_one_winner_every_round() -> None:
    reward = RewardFactory(points_cost=100)
    winners = []
    for round_ in range(20):
        redemption, member, shop = _cancel_and_use(round_, reward)
        cancel_url = reverse("portal:voucher_cancel", args=[redemption.pk])
        use_url = f"/api/v1/vouchers/{redemption.voucher.code}/use/"
        order = {"order_id": f"POS-{round_}"}

        cancel, use = race(
            2,
            lambda i, c=cancel_url, u=use_url, o=order, m=member, s=shop: (
                m.post(c) if i == 0 else s.post(u, o, format="json")
            ),
        )

        winners.append(_assert_one_winner(redemption, cancel, use, order["order_id"]))
    assert len(winners) == 20
    assert ledger_offences() == []
