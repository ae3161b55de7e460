"""The voucher lookup limit (``VOUCHER_LOOKUP_RATE_LIMIT``, 60 a minute per API key, in
``rewards.api.VoucherLookupThrottle``): a shop, or a thief with a shop's key, cannot check
codes faster than that, even codes that exist (unknown codes have their own, tighter
limit, tested in tests/rewards/test_api.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

LIMIT = 60
THROTTLED = {
    "error": {
        "code": "throttled",
        "message": "Request was throttled. Expected available in 60 seconds.",
        "fields": {},
    }
}


def _shop(name: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name=name)[1]}")
    return client


@pytest.fixture
def voucher():
    account = account_open(member=UserFactory())
    points_credit(account=account, points=100, kind="earn", idempotency_key="rate-seed")
    redemption = reward_redeem(
        account=account, reward=RewardFactory(points_cost=10), idempotency_key="rate-r"
    )
    return redemption.voucher


def test_voucher_lookups_stop_at_60_a_minute_per_key_with_a_429(clock, voucher) -> None:
    shop, other_shop = _shop("Shop"), _shop("Other shop")
    url = reverse("api-voucher-detail", args=[voucher.code])

    statuses = [shop.get(url).status_code for _ in range(LIMIT)]
    refused = shop.get(url)

    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["voucher_lookup"] == "60/min"
    assert statuses == [200] * LIMIT
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json() == THROTTLED
    assert other_shop.get(url).status_code == 200  # each key has its own count


def test_using_a_voucher_counts_toward_the_same_limit(clock, voucher) -> None:
    shop = _shop("Shop")
    lookup = reverse("api-voucher-detail", args=[voucher.code])
    for _ in range(LIMIT - 1):
        shop.get(lookup)

    used = shop.post(
        reverse("api-voucher-use", args=[voucher.code]), {"order_id": "W-1"}, format="json"
    )
    refused = shop.post(
        reverse("api-voucher-use", args=[voucher.code]), {"order_id": "W-1"}, format="json"
    )

    assert used.status_code == 200
    assert (refused.status_code, refused.json()) == (429, THROTTLED)


def test_the_limit_covers_voucher_lookups_only_and_resets_with_the_minute(clock, voucher) -> None:
    shop = _shop("Shop")
    url = reverse("api-voucher-detail", args=[voucher.code])
    for _ in range(LIMIT + 1):
        shop.get(url)

    rewards = shop.get(reverse("api-reward-list"))
    clock.shift(timedelta(seconds=60))
    next_minute = shop.get(url)

    assert rewards.status_code == 200
    assert next_minute.status_code == 200
