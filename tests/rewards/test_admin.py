from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from loyalty.services.ledger import account_open, points_credit
from rewards.models import RedemptionStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redemption():
    account = account_open(member=UserFactory())
    points_credit(account=account, points=500, kind="earn", idempotency_key="f")
    return reward_redeem(
        account=account, reward=RewardFactory(points_cost=200), idempotency_key="r"
    )


def staff_with(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def cancel(client, redemption):
    return client.post(
        reverse("admin:rewards_redemption_changelist"),
        {"action": "cancel_selected", "_selected_action": [redemption.pk]},
    )


def test_support_with_the_permission_cancels_and_points_come_back(client, redemption) -> None:
    client.force_login(staff_with("view_redemption", "cancel_redemption"))

    cancel(client, redemption)

    redemption.refresh_from_db()
    redemption.account.refresh_from_db()
    assert redemption.status == RedemptionStatus.CANCELLED
    assert redemption.account.balance == 500


def test_without_the_permission_the_action_is_not_offered(client, redemption) -> None:
    client.force_login(staff_with("view_redemption"))

    page = client.get(reverse("admin:rewards_redemption_changelist"))
    cancel(client, redemption)

    assert "cancel_selected" not in page.content.decode()
    redemption.refresh_from_db()
    assert redemption.status == RedemptionStatus.COMPLETED


def test_reward_admin_shows_an_image_preview(client) -> None:
    reward = RewardFactory(static_image="img/rewards/coffee.svg")
    client.force_login(staff_with("view_reward", "change_reward"))

    page = client.get(reverse("admin:rewards_reward_change", args=[reward.pk]))

    assert '<img src="/static/img/rewards/coffee.svg"' in page.content.decode()
