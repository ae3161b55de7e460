"""Real threads on separate PostgreSQL connections retrying one redemption through the API:
one request creates it (201); every retry with the same key and body, also one that raced
the first into the service, answers the same redemption as a replay (200)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from loyalty.verification import ledger_offences
from rewards.models import Redemption, Voucher
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
