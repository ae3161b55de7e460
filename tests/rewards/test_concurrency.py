"""Real threads on separate PostgreSQL connections racing for rewards."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
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


REFUSED = "Only an unused, valid voucher can be cancelled."


def _member_cancels(redemption: Redemption) -> tuple[Callable[[], object], dict]:
    """The member's cancel button in the portal, and what the member is told either way."""
    member = Client()
    member.force_login(redemption.account.member)
    url = reverse("portal:voucher_cancel", args=[redemption.pk])
    told = {"cancel": ["Cancelled: your points are back."], "use": [REFUSED]}
    return lambda: member.post(url), told


def _staff_cancels(redemption: Redemption) -> tuple[Callable[[], object], dict]:
    """Support's "Cancel and give the points back" action in the admin."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_redemption", "cancel_redemption"])
    )
    client = Client()
    client.force_login(staff)
    url = reverse("admin:rewards_redemption_changelist")
    data = {"action": "cancel_selected", "_selected_action": [redemption.pk]}
    told = {
        "cancel": ["1 redemptions cancelled."],
        "use": [f"{redemption}: {REFUSED}", "0 redemptions cancelled."],
    }
    return lambda: client.post(url, data), told


def _shop_uses(redemption: Redemption, order_id: str) -> Callable[[], object]:
    shop = APIClient()
    shop.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name=order_id)[1]}")
    url = f"/api/v1/vouchers/{redemption.voucher.code}/use/"
    return lambda: shop.post(url, {"order_id": order_id}, format="json")


def _assert_one_winner(redemption: Redemption, cancel, use, order_id: str, told: dict) -> str:
    """Exactly one of the cancel and the shop's use took effect; return which."""
    voucher = Voucher.objects.get(pk=redemption.voucher.pk)
    redemption.refresh_from_db()
    balance = Account.objects.get(pk=redemption.account_id).balance
    messages = [str(m) for m in get_messages(cancel.wsgi_request)]
    if use.status_code == 200:
        assert use.json()["status"] == VoucherStatus.USED
        assert (voucher.status, voucher.used_order_id) == (VoucherStatus.USED, order_id)
        assert (redemption.status, redemption.restore_entry_id) == (
            RedemptionStatus.COMPLETED,
            None,
        )
        assert balance == 200
        assert messages == told["use"]
        return "use"
    assert (use.status_code, use.json()["error"]["code"]) == (409, "voucher_cancelled")
    assert (voucher.status, voucher.used_order_id, voucher.used_at) == (
        VoucherStatus.CANCELLED,
        "",
        None,
    )
    assert redemption.status == RedemptionStatus.CANCELLED
    assert balance == 300
    assert messages == told["cancel"]
    return "cancel"


@pytest.mark.parametrize("canceller", [_member_cancels, _staff_cancels])
def test_a_cancel_racing_the_shops_use_has_exactly_one_winner_every_round(canceller) -> None:
    reward = RewardFactory(points_cost=100)
    for round_ in range(20):
        redemption = reward_redeem(account=funded(300), reward=reward, idempotency_key=f"r{round_}")
        cancel_job, told = canceller(redemption)
        use_job = _shop_uses(redemption, f"POS-{round_}")

        cancel, use = race(2, lambda i, c=cancel_job, u=use_job: c() if i == 0 else u())

        _assert_one_winner(redemption, cancel, use, f"POS-{round_}", told)
    assert ledger_offences() == []
