"""Limits on unknown voucher codes (rewards/guessing.py): customer typos never lock a shop
out of its vouchers, a sustained enumeration is refused with 429 + Retry-After, and the
window slides instead of resetting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from rewards.codes import voucher_code_new
from rewards.models import Voucher
from tests.loyalty.factories import AccountFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

LOCKED = {
    "code": "throttled",
    "message": "Too many unknown voucher codes. Expected available in {} seconds.",
    "fields": {},
}


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return client


@pytest.fixture
def code(clock) -> str:
    """A valid voucher code (issued through the API, as a shop would get it)."""
    from loyalty.services.ledger import points_credit

    account = AccountFactory()
    points_credit(account=account, points=500, kind="earn", idempotency_key="fund")
    redeem = api_key_create(name="Till")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {redeem}")
    body = {"reward_id": RewardFactory(points_cost=100).pk, "idempotency_key": "r"}
    response = client.post(f"/api/v1/members/{account.member_id}/redemptions/", body, format="json")
    return response.json()["voucher"]["code"]


def typo() -> str:
    """An unknown code of the real format (a 50-bit code is never guessed by accident)."""
    return voucher_code_new()


def lookup(api, code: str, customer: str = ""):
    extra = {"HTTP_VAFA_CUSTOMER_IP": customer} if customer else {}
    return api.get(f"/api/v1/vouchers/{code}/", **extra)


def test_twenty_typos_from_one_shop_do_not_block_valid_lookups(api, code, clock) -> None:
    typos = [lookup(api, typo()).status_code for _ in range(20)]

    valid = lookup(api, code)

    assert typos == [404] * 20
    assert (valid.status_code, valid.json()["code"]) == (200, code)


def test_one_customer_guessing_is_refused_alone(api, code, clock) -> None:
    guesses = [lookup(api, typo(), customer="203.0.113.7").status_code for _ in range(11)]

    same_customer = lookup(api, code, customer="203.0.113.7")
    other_customer = lookup(api, code, customer="198.51.100.2")
    no_header = lookup(api, code)

    assert guesses == [404] * 10 + [429]
    assert same_customer.status_code == 429
    assert same_customer.json() == {"error": {**LOCKED, "message": LOCKED["message"].format(601)}}
    assert (other_customer.status_code, no_header.status_code) == (200, 200)


def test_an_ipv6_customer_is_limited_by_its_64(api, code, clock) -> None:
    for i in range(10):
        lookup(api, typo(), customer=f"2001:db8:1:2::{i + 1}")

    same_64 = lookup(api, code, customer="2001:db8:1:2:ffff::9")
    other_64 = lookup(api, code, customer="2001:db8:1:3::1")

    assert (same_64.status_code, other_64.status_code) == (429, 200)


def test_a_sustained_enumeration_is_throttled_with_retry_after(api, code, clock) -> None:
    # given one guess every 2 s (under the 60 lookups a minute), customers spread out
    statuses = []
    for i in range(101):
        statuses.append(lookup(api, typo(), customer=f"10.0.{i // 250}.{i % 250}").status_code)
        clock.shift(timedelta(seconds=2))

    refused = lookup(api, code)

    assert statuses == [404] * 100 + [429]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "399"
    assert refused.json() == {"error": {**LOCKED, "message": LOCKED["message"].format(399)}}
    assert Voucher.objects.get().status == "issued"


def test_the_window_slides_instead_of_resetting(api, code, clock) -> None:
    # given the key's 100 misses at the start of a window
    for _ in range(50):
        lookup(api, typo())
    clock.shift(timedelta(seconds=61))
    for _ in range(50):
        lookup(api, typo())
    blocked = lookup(api, code)
    wait = int(blocked["Retry-After"])

    # when the window's edge has passed, a fixed window would allow 100 more at once
    clock.shift(timedelta(seconds=wait - 1))
    still = lookup(api, code)
    clock.shift(timedelta(seconds=1))
    trickle = [lookup(api, typo()).status_code for _ in range(3)]
    later = lookup(api, code)

    assert (blocked.status_code, still.status_code) == (429, 429)
    assert trickle == [404, 429, 429]
    assert later.status_code == 429
    clock.shift(timedelta(seconds=1200))
    assert lookup(api, code).status_code == 200
