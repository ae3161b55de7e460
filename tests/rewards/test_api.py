from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from loyalty.models import ApiReplay
from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from rewards.models import Redemption, VoucherStatus
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return client


@pytest.fixture
def member():
    account = account_open(member=UserFactory())
    points_credit(account=account, points=500, kind="earn", idempotency_key=f"f{account.pk}")
    return account.member


def redeem(api, member, reward, key="k1"):
    return api.post(
        f"/api/v1/members/{member.pk}/redemptions/",
        {"reward_id": reward.pk, "idempotency_key": key},
        format="json",
    )


def test_catalogue_marks_what_a_member_can_afford_and_redeem(api, member) -> None:
    gold = TierFactory(name="Gold", rank=2, threshold=9000)
    cheap = RewardFactory(name="Coffee", points_cost=100)
    dear = RewardFactory(name="Bike", points_cost=5000)
    locked = RewardFactory(name="Lounge", points_cost=10, min_tier=gold)
    RewardFactory(name="Hidden", is_active=False)

    plain = api.get("/api/v1/rewards/").json()
    with CaptureQueriesContext(connection) as queries:
        mine = {r["name"]: r for r in api.get(f"/api/v1/rewards/?member_id={member.pk}").json()}

    assert sorted(r["name"] for r in plain) == ["Bike", "Coffee", "Lounge"]
    assert "eligible" not in plain[0]
    assert (mine["Coffee"]["affordable"], mine["Coffee"]["eligible"]) == (True, True)
    assert (mine["Bike"]["affordable"], mine["Bike"]["eligible"]) == (False, False)
    assert mine["Bike"]["reason"] == "4500 more points needed."
    assert (mine["Lounge"]["affordable"], mine["Lounge"]["eligible"]) == (True, False)
    assert mine["Lounge"]["reason"] == "For Gold members and above."
    assert mine["Coffee"]["image_url"].startswith("http://testserver/static/")
    assert len(queries) <= 8
    assert {cheap.pk, dear.pk, locked.pk} == {r["id"] for r in mine.values()}


def test_catalogue_query_count_does_not_grow_with_rewards(api, member) -> None:
    for i in range(3):
        RewardFactory(name=f"r{i}")
    api.get("/api/v1/rewards/")  # the key's first use is looked up and recorded once
    with CaptureQueriesContext(connection) as few:
        api.get(f"/api/v1/rewards/?member_id={member.pk}")
    for i in range(30):
        RewardFactory(name=f"more{i}", min_tier=TierFactory(rank=10 + i))
    with CaptureQueriesContext(connection) as many:
        api.get(f"/api/v1/rewards/?member_id={member.pk}")

    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_redemption_returns_the_voucher_and_is_idempotent(api, member) -> None:
    reward = RewardFactory(points_cost=200)

    first = redeem(api, member, reward)
    again = redeem(api, member, reward)

    assert (first.status_code, again.status_code) == (201, 200)
    body = first.json()
    assert again.json() == body
    assert (body["points"], body["balance"], body["status"]) == (200, 300, "completed")
    assert body["voucher"]["status"] == "issued"
    assert len(body["voucher"]["code"]) == 11
    assert Redemption.objects.count() == 1


def test_refusal_is_replayed_for_the_same_key(api, member) -> None:
    reward = RewardFactory(points_cost=800)

    first = redeem(api, member, reward, key="try-1")
    points_credit(account=member.loyalty_account, points=1000, kind="earn", idempotency_key="more")
    retry = redeem(api, member, reward, key="try-1")
    fresh = redeem(api, member, reward, key="try-2")

    assert (first.status_code, retry.status_code, fresh.status_code) == (409, 409, 201)
    assert first.json() == retry.json()
    assert first.json()["error"]["code"] == "insufficient_points"
    assert first.json()["error"]["message"] == "Not enough points: 500 available, 800 needed."
    answers = dict(ApiReplay.objects.values_list("idempotency_key", "status_code"))
    assert answers == {"try-1": 409, "try-2": 201}


def test_same_key_for_another_reward_is_a_conflict(api, member) -> None:
    redeem(api, member, RewardFactory(), key="k")

    response = redeem(api, member, RewardFactory(), key="k")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"


def test_unknown_reward_or_member_is_404(api, member) -> None:
    reward = RewardFactory()

    assert (
        api.post(
            f"/api/v1/members/{member.pk}/redemptions/",
            {"reward_id": 999999, "idempotency_key": "x"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        api.post(
            "/api/v1/members/888888/redemptions/",
            {"reward_id": reward.pk, "idempotency_key": "y"},
            format="json",
        ).status_code
        == 404
    )
    assert Redemption.objects.count() == 0


def test_voucher_validate_and_use_once(api, member) -> None:
    code = redeem(api, member, RewardFactory(money_value=5)).json()["voucher"]["code"]

    check = api.get(f"/api/v1/vouchers/{code.lower().replace('-', '')}/")
    use = api.post(f"/api/v1/vouchers/{code}/use/", {"order_id": "WEB-1"}, format="json")
    retry = api.post(f"/api/v1/vouchers/{code}/use/", {"order_id": "WEB-1"}, format="json")
    twice = api.post(f"/api/v1/vouchers/{code}/use/", {"order_id": "WEB-2"}, format="json")

    assert check.status_code == 200
    assert (check.json()["status"], check.json()["money_value"], check.json()["kind"]) == (
        "issued",
        "5.00",
        "fixed_discount",
    )
    assert use.status_code == 200
    assert (use.json()["status"], use.json()["used_order_id"]) == (VoucherStatus.USED, "WEB-1")
    assert (retry.status_code, retry.json()) == (200, use.json())  # a retry for that order
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "voucher_used"


def test_unknown_codes_are_404_and_guessing_is_throttled(api, settings) -> None:
    settings.VOUCHER_MISSES_PER_KEY = 10
    statuses = [api.get(f"/api/v1/vouchers/AAAAA-{i:05d}/").status_code for i in range(12)]

    assert statuses[:10] == [404] * 10
    assert statuses[10:] == [429, 429]


def test_voucher_valid_through_is_the_last_day(api, member, settings) -> None:
    settings.TIME_ZONE = "UTC"
    reward = RewardFactory(voucher_valid_days=30)
    body = redeem(api, member, reward).json()["voucher"]

    assert (
        body["valid_through"]
        == (Redemption.objects.get().created_at.date() + timedelta(days=30)).isoformat()
    )


def test_redemption_replay_is_the_first_answer_even_after_the_voucher_was_used(api, member) -> None:
    first = redeem(api, member, RewardFactory(points_cost=100))
    api.post(
        f"/api/v1/vouchers/{first.json()['voucher']['code']}/use/", {"order_id": "O"}, format="json"
    )

    again = redeem(api, member, RewardFactory.build(pk=first.json()["reward_id"]))

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["voucher"]["status"] == "issued"
