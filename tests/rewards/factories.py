from __future__ import annotations

import factory

from rewards.models import Reward, RewardKind


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Reward {n}")
    kind = RewardKind.FIXED_DISCOUNT
    points_cost = 100
    money_value = 5
