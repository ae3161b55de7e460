"""Campaign budgets under concurrent events, on PostgreSQL with real threads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import CampaignKind, Entry, EntryKind, EventType
from loyalty.services.earning import EventInput, event_record
from loyalty.verification import ledger_offences
from tests.loyalty.factories import AccountFactory, CampaignFactory, EarningRuleFactory
from tests.loyalty.test_ledger_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_campaign_budget_is_never_overshot_by_concurrent_events(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    campaign = CampaignFactory(
        kind=CampaignKind.FIXED_BONUS, multiplier=None, bonus_points=7, budget_points=50
    )
    accounts = [AccountFactory() for _ in range(6)]

    def buy(i: int) -> object:
        data = EventInput(
            idempotency_key=f"evt-{i}",
            type=EventType.PURCHASE,
            account=accounts[i % len(accounts)],
            occurred_at=timezone.now(),
            amount=Decimal("20.00"),
            currency="EUR",
            order_id=f"order-{i}",
        )
        return event_record(data=data)

    results = race(24, buy)

    assert not [r for r in results if isinstance(r, Exception)], results
    bonus = Entry.objects.filter(kind=EntryKind.BONUS).aggregate(total=Sum("points"))["total"]
    campaign.refresh_from_db()
    assert bonus == campaign.budget_used == 50
    assert Entry.objects.filter(kind=EntryKind.EARN).count() == 24
    assert ledger_offences() == []
