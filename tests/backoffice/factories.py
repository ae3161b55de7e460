from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from loyalty.models import Event, EventType
from tests.loyalty.factories import AccountFactory


class EventFactory(factory.django.DjangoModelFactory):
    """A recorded event as the engine stores it (no points are written)."""

    class Meta:
        model = Event

    idempotency_key = factory.Sequence(lambda n: f"event-{n}")
    type = EventType.PURCHASE
    account = factory.SubFactory(AccountFactory)
    amount = Decimal("10.00")
    currency = "EUR"
    order_id = factory.Sequence(lambda n: f"order-{n}")
    occurred_at = factory.LazyFunction(timezone.now)
    request_hash = "0" * 64
