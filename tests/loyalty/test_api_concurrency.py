"""Real threads on separate PostgreSQL connections retrying one event through the API: one
request records it (201), every concurrent retry with the same key and body is the replay
(200) of the same event."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.models import Event
from loyalty.services.apikeys import api_key_create
from loyalty.verification import ledger_offences
from tests.loyalty.factories import AccountFactory, EarningRuleFactory
from tests.loyalty.test_ledger_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_retries_of_one_event_get_one_201_and_replays_200() -> None:
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    account = AccountFactory()
    raw_key = api_key_create(name="Shop")[1]
    body = {
        "idempotency_key": "webshop-order-77",
        "type": "purchase",
        "member_id": account.member_id,
        "amount": "42.50",
        "currency": "EUR",
        "order_id": "77",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }

    def retry(i: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        return client.post("/api/v1/events/", body, format="json")

    responses = race(8, retry)

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert {r.json()["event_id"] for r in responses} == {Event.objects.get().pk}
    account.refresh_from_db()
    assert account.pending == 42
    assert ledger_offences() == []
