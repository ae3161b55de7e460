from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from loyalty.api_auth import ApiKeyRateThrottle
from loyalty.models import Account, Entry, Event
from loyalty.services.apikeys import api_key_create, api_key_revoke
from loyalty.services.ledger import account_for_member, points_credit
from loyalty.services.tiers import tier_upgrade_check
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory, EarningRuleFactory, TierFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


@pytest.fixture
def api_key():
    return api_key_create(name="Test shop")


@pytest.fixture
def api(api_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key[1]}")
    return client


@pytest.fixture(autouse=True)
def _program(settings, clock) -> None:
    """The clock stands still at ``NOW``: events happen an hour before it, so the 14-day
    return window keeps them pending whatever the day the suite runs."""
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1.00"))


@pytest.fixture
def member():
    return AccountFactory().member


def purchase_body(member, key="evt-1", **overrides) -> dict:
    body = {
        "idempotency_key": key,
        "type": "purchase",
        "member_id": member.pk,
        "amount": "42.50",
        "currency": "EUR",
        "order_id": f"order-{key}",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    return {**body, **overrides}


def counts() -> tuple[int, int, int]:
    return Event.objects.count(), Entry.objects.count(), User.objects.count()


# --- authentication and throttling ----------------------------------------------------


def test_requests_without_a_key_are_refused(member) -> None:
    response = APIClient().get(reverse("api-member-detail", args=[member.pk]))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Api-Key nonsense", "Api-Key", "Api-Key a b"])
def test_wrong_or_malformed_keys_are_refused(member, header) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(reverse("api-member-detail", args=[member.pk]))

    assert response.status_code == 401
    assert "message" in response.json()["error"]


def test_revoked_key_stops_working_at_once(api, api_key, member) -> None:
    assert api.get(reverse("api-member-detail", args=[member.pk])).status_code == 200

    api_key_revoke(api_key=api_key[0])

    assert api.get(reverse("api-member-detail", args=[member.pk])).status_code == 401


def test_key_use_is_recorded(api, api_key, member) -> None:
    api.get(reverse("api-member-detail", args=[member.pk]))

    api_key[0].refresh_from_db()
    assert api_key[0].last_used_at is not None
    assert api_key[0].key_hash != api_key[1]


def test_guessing_keys_is_throttled_per_ip(member, settings) -> None:
    settings.API_FAILED_KEYS_PER_MINUTE = 3
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key guess")
    url = reverse("api-member-detail", args=[member.pk])

    statuses = [client.get(url).status_code for _ in range(5)]

    assert statuses == [401, 401, 401, 429, 429]


def test_each_key_has_its_own_rate_limit(api, member, monkeypatch) -> None:
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    url = reverse("api-member-detail", args=[member.pk])
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Other')[1]}")

    statuses = [api.get(url).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert other.get(url).status_code == 200


# --- members ---------------------------------------------------------------------------


def test_enroll_creates_a_member_and_sends_a_set_password_email(
    api, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/members/",
            {"email": "New@Shop.Example", "first_name": "Lena", "language": "ru"},
            format="json",
        )

    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["first_name"], body["balance"]) == ("new@shop.example", "Lena", 0)
    member = User.objects.get(email="new@shop.example")
    assert not member.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@shop.example"]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert mail.outbox[0].subject.startswith("Добро") or "Vafa" in mail.outbox[0].subject


def test_enrolling_an_existing_email_returns_that_member(api, member) -> None:
    response = api.post("/api/v1/members/", {"email": member.email.upper()}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == member.pk
    assert User.objects.count() == 1
    assert mail.outbox == []


def test_enroll_refuses_bad_input_and_writes_nothing(api) -> None:
    response = api.post(
        "/api/v1/members/", {"email": "not-an-email", "birthday": "2999-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "birthday"}
    assert User.objects.count() == 0


def test_member_detail_shows_balance_tier_progress_and_expiring_points(api) -> None:
    TierFactory(name="Bronze", rank=0, threshold=0)
    TierFactory(name="Silver", rank=1, threshold=500)
    member = UserFactory()
    account = account_for_member(member=member)
    points_credit(account=account, points=120, kind="earn", idempotency_key="a", qualifying=True)
    soon = points_credit(
        account=account,
        points=30,
        kind="bonus",
        idempotency_key="b",
        expires_at=timezone.now() + timedelta(days=10),
    )

    body = api.get(reverse("api-member-detail", args=[member.pk])).json()

    assert (body["balance"], body["pending"], body["lifetime_points"]) == (150, 0, 150)
    assert body["tier"] == {"name": "Bronze", "rank": 0}
    assert body["next_tier"] == {"name": "Silver", "rank": 1, "points_to_go": 380}
    enrolled = api.post(reverse("api-member-create"), {"email": member.email}, format="json")
    assert enrolled.json()["tier"] == body["tier"]
    assert enrolled.json()["qualifying_points"] == 120
    assert body["expiring_soon"]["points"] == 30
    assert body["expiring_soon"]["date"] is not None
    assert soon.lot.expires_at > soon.occurred_at


def test_unknown_member_is_404(api) -> None:
    response = api.get(reverse("api-member-detail", args=[999999]))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_ledger_is_paginated_newest_first_with_bounded_queries(api, member) -> None:
    account = member.loyalty_account
    for i in range(60):
        points_credit(account=account, points=i + 1, kind="earn", idempotency_key=f"k{i}")
    url = reverse("api-member-ledger", args=[member.pk])

    with CaptureQueriesContext(connection) as queries:
        page = api.get(url).json()
    following = api.get(page["next"]).json()

    assert [e["points"] for e in page["results"][:3]] == [60, 59, 58]
    assert len(page["results"]) == 50
    assert [e["points"] for e in following["results"]] == list(range(10, 0, -1))
    assert following["next"] is None
    assert len(queries) <= 8


# --- events ----------------------------------------------------------------------------


def test_purchase_event_answers_with_points_breakdown_and_balance(api, member) -> None:
    response = api.post(EVENTS, purchase_body(member), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["points_awarded"] == 42
    assert body["breakdown"] == {"base": 42, "tier_bonus": 0, "campaigns": []}
    assert (body["status"], body["balance"], body["pending"]) == ("pending", 0, 42)
    assert body["member_id"] == member.pk


def test_purchase_by_a_tiered_member_earns_the_tier_bonus_and_moves_them_up(api, settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=100, multiplier=Decimal("1.50"))
    gold = TierFactory(name="Gold", rank=2, threshold=200, multiplier=Decimal("2.00"))
    member = UserFactory()
    account = account_for_member(member=member)
    points_credit(account=account, points=150, kind="earn", idempotency_key="a", qualifying=True)
    assert tier_upgrade_check(account=account).to_tier == silver

    first = api.post(EVENTS, purchase_body(member, key="t1", amount="60"), format="json").json()
    second = api.post(EVENTS, purchase_body(member, key="t2", amount="10"), format="json").json()

    assert first["breakdown"] == {"base": 60, "tier_bonus": 30, "campaigns": []}
    assert second["breakdown"] == {"base": 10, "tier_bonus": 10, "campaigns": []}
    assert (second["balance"], second["pending"]) == (260, 0)
    account.refresh_from_db()
    assert account.tier == gold


def test_member_can_be_named_by_email(api, member) -> None:
    body = purchase_body(member)
    del body["member_id"]
    body["member_email"] = member.email.upper()

    assert api.post(EVENTS, body, format="json").status_code == 201


def test_replay_returns_the_first_answer_and_other_body_conflicts(api, member) -> None:
    first = api.post(EVENTS, purchase_body(member), format="json")
    again = api.post(EVENTS, purchase_body(member), format="json")
    other = api.post(EVENTS, purchase_body(member, amount="43.00"), format="json")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert (Event.objects.count(), Entry.objects.count()) == (1, 1)


def test_refund_through_the_api(api, member) -> None:
    api.post(EVENTS, purchase_body(member, key="p1", order_id="O-1", amount="80"), format="json")

    refund = api.post(
        EVENTS,
        purchase_body(member, key="r1", type="refund", order_id="O-1", amount="20"),
        format="json",
    )

    assert refund.status_code == 201
    assert refund.json()["points_awarded"] == -20
    assert refund.json()["pending"] == 60


def test_a_retried_refund_of_most_of_an_order_replays_the_first_answer(api, member) -> None:
    # given a purchase of 80 and a refund of 60 that went through, whose answer was lost
    api.post(EVENTS, purchase_body(member, key="p1", order_id="O-1", amount="80"), format="json")
    body = purchase_body(member, key="r1", type="refund", order_id="O-1", amount="60")
    first = api.post(EVENTS, body, format="json")

    # when the shop retries the same refund with the same key
    retry = api.post(EVENTS, body, format="json")

    # then it gets the first answer back (not "the refund exceeds what was bought"), once
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    assert Event.objects.filter(type="refund").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "100000000"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"type": "teleport"}, "type"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"order_id": ""}, "order_id"),
        ({"amount": None}, "amount"),
        ({"member_email": "x@example.com"}, "member_id"),
        ({"metadata": {"blob": "x" * 5000}}, "metadata"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(
    api, member, overrides, field
) -> None:
    before = counts()

    response = api.post(EVENTS, purchase_body(member, **overrides), format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert field in error["fields"], error
    assert error["message"]
    assert counts() == before


def test_unknown_member_event_is_404_and_writes_nothing(api, member) -> None:
    before = counts()

    response = api.post(EVENTS, purchase_body(member, member_id=424242), format="json")

    assert response.status_code == 404
    assert counts() == before


@pytest.mark.parametrize(
    ("refund", "status", "code"),
    [
        ({"order_id": "NOPE", "amount": "5"}, 404, "unknown_order"),
        ({"order_id": "O-1", "amount": "80.01"}, 409, "refund_exceeds_purchase"),
    ],
)
def test_bad_refunds_are_refused_and_write_nothing(api, member, refund, status, code) -> None:
    api.post(EVENTS, purchase_body(member, key="p1", order_id="O-1", amount="80"), format="json")
    before = counts()

    response = api.post(
        EVENTS, purchase_body(member, key="r1", type="refund", **refund), format="json"
    )

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert counts() == before


def test_malformed_json_is_a_400(api) -> None:
    response = api.post(EVENTS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def _queries_for_one_event(api, member, key: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.post(EVENTS, purchase_body(member, key=key), format="json")
    assert response.status_code == 201
    return len(queries)


def test_event_query_count_does_not_grow_with_history(api, member) -> None:
    api.post(EVENTS, purchase_body(member, key="warm-up"), format="json")
    fresh = _queries_for_one_event(api, member, "first")
    for i in range(40):
        api.post(EVENTS, purchase_body(member, key=f"h{i}"), format="json")

    later = _queries_for_one_event(api, member, "later")

    assert later == fresh
    assert fresh <= 25


def test_openapi_schema_and_docs_are_served_without_a_cdn(client) -> None:
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/events/" in schema.content
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    assert b"cdn." not in docs.content


def test_a_retry_without_occurred_at_replays_the_first_answer(api, member, clock) -> None:
    body = purchase_body(member, key="no-time")
    del body["occurred_at"]

    first = api.post(EVENTS, body, format="json")
    clock.shift(timedelta(minutes=3))
    again = api.post(EVENTS, body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()


def test_staff_accounts_are_not_members_of_the_api(api) -> None:
    staff = UserFactory(is_staff=True)

    detail = api.get(reverse("api-member-detail", args=[staff.pk]))
    enroll = api.post("/api/v1/members/", {"email": staff.email}, format="json")

    assert (detail.status_code, enroll.status_code) == (404, 409)
    assert enroll.json()["error"]["code"] == "not_a_member"


def test_reading_a_member_writes_nothing(api) -> None:
    fresh = UserFactory()

    body = api.get(reverse("api-member-detail", args=[fresh.pk])).json()
    api.get(reverse("api-member-ledger", args=[fresh.pk]))

    assert (body["balance"], body["pending"]) == (0, 0)
    assert not Account.objects.filter(member=fresh).exists()
