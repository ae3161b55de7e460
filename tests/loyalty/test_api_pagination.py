"""The ledger's cursor pagination: every bad cursor gets the documented answer (docs/api.md,
Pagination): 404 ``not_found`` with the message ``Invalid cursor``, never a field error
or a server error."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import points_credit
from tests.loyalty.factories import AccountFactory

pytestmark = pytest.mark.django_db

INVALID_CURSOR = {"error": {"code": "not_found", "message": "Invalid cursor", "fields": {}}}


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return client


@pytest.fixture
def account():
    account = AccountFactory()
    for i in range(3):
        points_credit(account=account, points=10, kind="earn", idempotency_key=f"p-{i}")
    return account


def cursor(raw: str) -> str:
    return quote(base64.b64encode(raw.encode()).decode())


@pytest.mark.parametrize(
    "value",
    [
        "not-base64!",
        cursor("o=-5"),
        cursor("p=garbage"),
        cursor("p=2026-13-45 10:00:00+00:00"),
        cursor("r=1&p=x"),
        cursor("p=\x00"),
        cursor("p=2026-01-01 10:00:00"),
    ],
)
def test_a_tampered_cursor_is_the_documented_404(api, account, value) -> None:
    url = reverse("api-member-ledger", args=[account.member_id])

    response = api.get(f"{url}?cursor={value}")

    assert (response.status_code, response.json()) == (404, INVALID_CURSOR)


def test_the_next_link_still_pages_through_the_ledger(api, account) -> None:
    url = reverse("api-member-ledger", args=[account.member_id])

    first = api.get(f"{url}?page_size=2").json()
    second = api.get(first["next"]).json()

    assert [len(first["results"]), len(second["results"])] == [2, 1]
    assert second["next"] is None


# --- page_size ------------------------------------------------------------------------------

PAGE_SIZE_REFUSED = {
    "error": {
        "code": "invalid",
        "message": "The request has invalid fields.",
        "fields": {"page_size": ["The page size is a whole number from 1 to 200 in ASCII digits."]},
    }
}


@pytest.mark.parametrize(
    "value",
    ["1_0", "%EF%BC%93", "%D9%A3", "%C2%B2", "0", "-1", "abc", "", "201", "2.0", "+2", "%202"],
    ids=[
        "underscore",
        "full-width",
        "arabic",
        "superscript",
        "zero",
        "negative",
        "letters",
        "empty",
        "over-max",
        "decimal",
        "plus",
        "space",
    ],
)
def test_a_page_size_that_is_not_1_to_200_in_ascii_digits_is_a_field_error(
    api, account, value
) -> None:
    url = reverse("api-member-ledger", args=[account.member_id])

    response = api.get(f"{url}?page_size={value}")

    assert (response.status_code, response.json()) == (400, PAGE_SIZE_REFUSED)


@pytest.mark.parametrize(("value", "entries"), [("1", 1), ("2", 2), ("200", 3), ("02", 2)])
def test_a_page_size_in_ascii_digits_from_1_to_200_sizes_the_page(
    api, account, value, entries
) -> None:
    url = reverse("api-member-ledger", args=[account.member_id])

    response = api.get(f"{url}?page_size={value}")

    assert (response.status_code, len(response.json()["results"])) == (200, entries)


def test_without_a_page_size_the_page_holds_the_default(api, account) -> None:
    url = reverse("api-member-ledger", args=[account.member_id])

    response = api.get(url)

    assert (response.status_code, len(response.json()["results"])) == (200, 3)
