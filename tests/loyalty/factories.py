from __future__ import annotations

import factory

from loyalty.models import Account
from tests.accounts.factories import UserFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    member = factory.SubFactory(UserFactory)
