"""Property-based fuzz of the event and redemption bodies with hostile text (issue 15): NUL,
lone surrogates, odd digits, long strings, wrong types, at any place of the body. Whatever is
sent, the answer is JSON and never a server error, and a refusal writes nothing.

Bounded and reproducible: a fixed number of examples, no deadline, derandomized."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from loyalty.models import ApiReplay, Entry, Event
from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from rewards.models import Redemption
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

settings.register_profile(
    "hostile-input",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOSTILE = settings.get_profile("hostile-input")

ODD = ["\x00", "\ud800", "\udfff", "²", "١", "۹", "１", "_", ".", "e", "-", " ", "\n"]
chars = st.one_of(st.sampled_from(ODD), st.characters(codec="utf-8"))
text = st.one_of(
    st.text(alphabet=chars, max_size=12),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "\x00", "٩"]), st.integers(200, 10_000)),
)
scalar = st.one_of(text, st.integers(), st.floats(), st.booleans(), st.none())
anything = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)


def written() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Event, Entry, Redemption, ApiReplay))


@pytest.fixture
def shop() -> dict[str, Any]:
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    account = account_open(member=UserFactory())
    points_credit(account=account, points=10_000, kind="earn", idempotency_key="fuzz")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return {"client": client, "account": account, "reward": RewardFactory(points_cost=10)}


def post(client: APIClient, path: str, body: dict[str, Any]):
    text = json.dumps(body)  # ensure_ascii: NUL and lone surrogates travel as \\u escapes
    return client.generic("POST", path, text.encode(), content_type="application/json")


def check(response, before: tuple[int, ...]) -> None:
    assert response.status_code < 500
    assert response["Content-Type"] == "application/json"
    if response.status_code >= 400:
        assert written() == before


def event_bodies(member_id: int) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "idempotency_key": text,
        "type": st.one_of(st.sampled_from(["purchase", "review", "custom"]), text),
        "member_id": st.one_of(st.just(member_id), st.just(str(member_id)), anything),
        "amount": st.one_of(st.sampled_from(["10.00", "1_000", "١٠٠", "１００", "1e3"]), anything),
        "currency": st.one_of(st.just("EUR"), text),
        "order_id": text,
        "metadata": anything,
    }
    return st.fixed_dictionaries({}, optional=fields)


@HOSTILE
@given(data=st.data())
def test_event_bodies_never_give_a_server_error(shop, data) -> None:
    body = data.draw(event_bodies(shop["account"].member_id))
    before = written()

    response = post(shop["client"], "/api/v1/events/", body)

    check(response, before)


@HOSTILE
@given(key=st.one_of(text, anything), reward_id=anything)
def test_redemption_bodies_never_give_a_server_error(shop, key, reward_id) -> None:
    path = f"/api/v1/members/{shop['account'].member_id}/redemptions/"
    before = written()

    response = post(shop["client"], path, {"idempotency_key": key, "reward_id": reward_id})

    check(response, before)
