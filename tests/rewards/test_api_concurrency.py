"""Real threads on separate PostgreSQL connections retrying through the API. A redemption:
one request creates it (201); every retry with the same key and body, also one that raced
the first into the service, answers the same redemption as a replay (200). A voucher use:
every retry for the winning order succeeds, every use for another order is refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.models import Redemption, Voucher
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.loyalty.test_ledger_concurrency import race
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_retries_of_one_redemption_get_one_201_and_replays_200() -> None:
    account = account_open(member=UserFactory())
    points_credit(account=account, points=1000, kind="earn", idempotency_key="fund")
    reward = RewardFactory(points_cost=300)
    raw_key = api_key_create(name="Shop")[1]
    url = f"/api/v1/members/{account.member_id}/redemptions/"

    def retry(i: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        body = {"reward_id": reward.pk, "idempotency_key": "pos-1-redeem-7"}
        return client.post(url, body, format="json")

    responses = race(8, retry)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201]
    assert {r.json()["id"] for r in responses} == {Redemption.objects.get().pk}
    assert Voucher.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == 700
    assert ledger_offences() == []


def test_concurrent_checkout_retries_of_one_voucher_use_all_succeed_for_one_order() -> None:
    account = account_open(member=UserFactory())
    points_credit(account=account, points=1000, kind="earn", idempotency_key="fund")
    redemption = reward_redeem(account=account, reward=RewardFactory(), idempotency_key="r")
    raw_key = api_key_create(name="Shop")[1]
    url = f"/api/v1/vouchers/{redemption.voucher.code}/use/"

    def use(i: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        return client.post(url, {"order_id": "A" if i % 2 else "B"}, format="json")

    responses = race(6, use)

    winner = Voucher.objects.get().used_order_id
    answers = sorted((r.status_code, r.json().get("used_order_id")) for r in responses)
    assert answers == [(200, winner)] * 3 + [(409, None)] * 3
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "voucher_used"
    }
