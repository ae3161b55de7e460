"""The campaign simulator replays a known history of the last ten days.

Campaign: double points (multiplier 2) for Gold members, purchases of at least 10 EUR,
at most 50 bonus points per member, a budget of 120 points, ten days long. The purchase
rule gives 1 point per EUR, so each qualifying purchase wants its amount as bonus.

| days ago | who        | amount | wants | member cap    | budget left | gives         |
|----------|------------|--------|-------|---------------|-------------|---------------|
| 9        | A (Gold)   | 30     | 30    | 30            | 120         | 30            |
| 8        | B (Gold)   | 60     | 60    | 50 (10 held)  | 90          | 50            |
| 7        | A          | 40     | 40    | 20 (20 held)  | 40          | 20            |
| 6        | C (Gold)   | 70     | 70    | 50 (20 held)  | 20          | 20 (30 held)  |
| 5        | A          | 5      | below the minimum amount                              |
| 4        | D (Silver) | 100    | tier not eligible                                     |
| 3        | E (Gold)   | review | not an eligible event type (not counted)              |
| 11       | B          | 20     | before the period (not counted)                       |

Events counted: 6; qualifying: 4; members: A, B, C; bonus 120 points; held back by the
member cap 50, by the budget 30; liability 120 × 0.01 = 1.20 EUR.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from loyalty.analytics.simulator import campaign_simulate
from loyalty.models import CampaignKind, CampaignStatus, EventType, MemberSegment
from tests.accounts.factories import UserFactory
from tests.backoffice.factories import EventFactory
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory, CampaignFactory, EarningRuleFactory, TierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def ago(days: int):
    return NOW - timedelta(days=days)


@pytest.fixture
def history(settings) -> dict:
    settings.POINT_VALUE = Decimal("0.01")
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    gold, silver = TierFactory(name="Gold", rank=2), TierFactory(name="Silver", rank=1)
    a, b, c, e = (AccountFactory(tier=gold) for _ in range(4))
    d = AccountFactory(tier=silver)
    for account, days, amount in [(a, 9, 30), (b, 8, 60), (a, 7, 40), (c, 6, 70), (a, 5, 5)]:
        EventFactory(account=account, occurred_at=ago(days), amount=amount)
    EventFactory(account=d, occurred_at=ago(4), amount=100)
    EventFactory(account=e, occurred_at=ago(3), type=EventType.REVIEW, amount=None, order_id="")
    EventFactory(account=b, occurred_at=ago(11), amount=20)
    campaign = CampaignFactory(
        status=CampaignStatus.DRAFT,
        starts_at=NOW + timedelta(days=5),
        ends_at=NOW + timedelta(days=15),
        multiplier=Decimal("2.00"),
        min_amount=Decimal("10"),
        member_cap_points=50,
        budget_points=120,
    )
    campaign.tiers.add(gold)
    return {"campaign": campaign, "a": a, "b": b, "c": c}


@pytest.mark.parametrize("batch_size", [2, 2000])
def test_simulation_of_a_known_history(history, batch_size) -> None:
    result = campaign_simulate(campaign=history["campaign"], batch_size=batch_size)

    assert (result.start, result.end) == (ago(10), NOW)
    assert (result.events, result.qualifying, result.members) == (6, 4, 3)
    assert (result.points, result.held_by_member_cap, result.held_by_budget) == (120, 50, 30)
    assert (result.liability, result.currency) == (Decimal("1.20"), "EUR")


def test_a_fixed_bonus_for_one_segment(history) -> None:
    campaign = history["campaign"]
    campaign.kind, campaign.multiplier, campaign.bonus_points = CampaignKind.FIXED_BONUS, None, 15
    campaign.target_segments = ["champions"]
    campaign.member_cap_points = campaign.budget_points = None
    campaign.save()
    MemberSegment.objects.create(
        account=history["a"], recency=5, frequency=5, monetary=5, label="champions",
        last_purchase_at=NOW, purchases=3, spend=75, computed_at=NOW,
    )  # fmt: skip

    result = campaign_simulate(campaign=campaign)

    # only A's two purchases of at least 10 EUR: 2 × 15
    assert (result.qualifying, result.members, result.points) == (2, 1, 30)


def test_the_estimate_is_on_the_draft_campaign_admin_page(client, history) -> None:
    marketer = UserFactory(is_staff=True)
    marketer.groups.add(Group.objects.get(name="Marketing"))
    client.force_login(marketer)
    campaign = history["campaign"]

    page = client.get(reverse("admin:loyalty_campaign_change", args=[campaign.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "would have given 120 bonus points to 3 members: a liability of 1.20 EUR" in html
    assert "by the per-member cap: 50 points; by the budget: 30 points" in html
