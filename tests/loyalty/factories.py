from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from loyalty.models import (
    Account,
    Campaign,
    CampaignKind,
    CampaignStatus,
    EarningRule,
    EventType,
    Tier,
)
from tests.accounts.factories import UserFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    member = factory.SubFactory(UserFactory)


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier
        django_get_or_create = ("rank",)

    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n)
    threshold = factory.LazyAttribute(lambda o: o.rank * 1000)
    multiplier = Decimal("1.00")


class EarningRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EarningRule
        django_get_or_create = ("event_type", "code")

    name = factory.LazyAttribute(lambda o: f"{o.event_type} rule")
    event_type = EventType.PURCHASE
    code = ""
    points = 0
    points_per_unit = Decimal("1.00")
    currency = "EUR"
    min_amount = Decimal("0")
    counts_toward_tier = True


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = CampaignStatus.ACTIVE
    kind = CampaignKind.MULTIPLIER
    multiplier = Decimal("2.00")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
