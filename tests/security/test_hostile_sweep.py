"""A sweep of hostile values (issue 15) into every field of every API body and every member
form. Fields are found, not listed: API bodies from the OpenAPI schema, form fields from the
rendered pages, so a new field is swept by itself. DB-agnostic: runs on SQLite and on
PostgreSQL (where NUL used to be a 500)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache
from itertools import count
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core.cache import cache as django_cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_credit
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

NUL, SURROGATE, LONG, DEEP, NUL_KEY = (
    r'"a\u0000b"',
    r'"\ud800"',
    json.dumps("x" * 10_000),
    "[" * 100_000 + "]" * 100_000,
    r'{"\u0000": "\udc00"}',
)
ALWAYS_REFUSED = {NUL, SURROGATE, LONG, DEEP, NUL_KEY}
HOSTILE_JSON = [
    NUL,
    SURROGATE,
    LONG,
    DEEP,
    NUL_KEY,
    '"²"',
    '"١٠٠"',
    '"1_000"',
    '"１００"',
    "[]",
    '{"a": 1}',
    "true",
    "null",
]
APPS = ("accounts", "loyalty", "rewards", "referrals", "config")
HOLE = '"__hostile__"'
numbers = count(1)


@cache
def _count_sql() -> str:
    """One statement counting the rows of every table of the project (API keys excluded:
    their use is recorded)."""
    tables = sorted(
        model._meta.db_table
        for name in APPS
        for model in apps.get_app_config(name).get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.model_name != "apikey"
    )
    quoted = [connection.ops.quote_name(table) for table in tables]  # names from the models
    return "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in quoted)  # noqa: S608


def written() -> tuple[int, ...]:
    with connection.cursor() as cursor:
        cursor.execute(_count_sql())
        return tuple(cursor.fetchone())


# --- the API ---------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def api_bodies() -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the body's field names, for every API operation with a body."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if body := operation.get("requestBody"):
                node = _resolve(schema, body["content"]["application/json"]["schema"])
                found[(method.upper(), path)] = sorted(node["properties"])
    return found


@pytest.fixture
def shop() -> dict[str, Any]:
    """What a valid body of each operation needs: a member with points, a reward."""
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    account = account_open(member=UserFactory())
    points_credit(account=account, points=100_000, kind="earn", idempotency_key="sweep")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return {"account": account, "reward": RewardFactory(points_cost=10), "client": client}


def valid_request(shop: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """A URL and a body that the operation accepts, fresh each time (new keys, orders)."""
    n, account = next(numbers), shop["account"]
    occurred = timezone.now().isoformat()
    bodies = {
        "/api/v1/events/": {
            "idempotency_key": f"sweep-{n}",
            "type": "purchase",
            "member_id": account.member_id,
            "member_email": account.member.email,
            "amount": "10.00",
            "currency": "EUR",
            "order_id": f"order-{n}",
            "occurred_at": occurred,
            "metadata": {"n": n},
        },
        "/api/v1/members/": {
            "email": f"sweep{n}@example.com",
            "first_name": "Ada",
            "last_name": "L",
            "language": "en",
            "birthday": "1990-01-02",
        },
        "/api/v1/members/{member_id}/redemptions/": {
            "reward_id": shop["reward"].pk,
            "idempotency_key": f"sweep-{n}",
        },
        "/api/v1/vouchers/{code}/use/": {"order_id": f"order-{n}"},
    }
    url = path.replace("{member_id}", str(account.member_id))
    if "{code}" in path:
        redemption = reward_redeem(account=account, reward=shop["reward"], idempotency_key=f"v{n}")
        url = url.replace("{code}", redemption.voucher.code)
    return url, bodies[path]


def test_the_sweep_covers_every_api_body() -> None:
    assert set(api_bodies()) == {
        ("POST", "/api/v1/events/"),
        ("POST", "/api/v1/members/"),
        ("POST", "/api/v1/members/{member_id}/redemptions/"),
        ("POST", "/api/v1/vouchers/{code}/use/"),
    }


def test_hostile_values_in_every_api_field_never_give_a_500_or_html(shop) -> None:
    failures = []
    for (method, path), fields in api_bodies().items():
        for field in fields:
            for value in HOSTILE_JSON:
                url, body = valid_request(shop, method, path)
                text = json.dumps({**body, field: "__hostile__"}).replace(HOLE, value)
                before = written()
                django_cache.clear()  # rate limits: the sweep is many requests from one key
                response = shop["client"].generic(
                    method, url, text.encode(), content_type="application/json"
                )
                problem = _api_problem(response, value, before)
                if problem:
                    failures.append((path, field, value[:20], response.status_code, problem))
    assert failures == []


def _api_problem(response, value: str, before: tuple[int, ...]) -> str:
    if response.status_code >= 500:
        return "server error"
    if response["Content-Type"] != "application/json":
        return f"content type {response['Content-Type']}"
    if value in ALWAYS_REFUSED and response.status_code != 400:
        return "not refused"
    if response.status_code >= 400 and written() != before:
        return "written although refused"
    return ""


NON_ASCII_DATES = {
    "date": ["２０２６-12-04", "١٩٩٠-٠١-٠٢", "۱۹۹۰-۰۱-۰۲", "1990-01-0²"],
    "date-time": ["２０２６-12-04T10:00:00Z", "٢٠٢٦-١٢-٠٤T10:00:00Z", "2026-12-04T１0:00:00Z"],
}


def api_date_fields() -> dict[tuple[str, str], dict[str, str]]:
    """(method, path) -> {field: "date" or "date-time"} of every API body, from the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if body := operation.get("requestBody"):
                node = _resolve(schema, body["content"]["application/json"]["schema"])
                found[(method.upper(), path)] = {
                    name: field["format"]
                    for name, field in node["properties"].items()
                    if field.get("format") in NON_ASCII_DATES
                }
    return found


def test_the_date_sweep_finds_every_api_date_field() -> None:
    dated = {operation: fields for operation, fields in api_date_fields().items() if fields}

    assert dated == {
        ("POST", "/api/v1/events/"): {"occurred_at": "date-time"},
        ("POST", "/api/v1/members/"): {"birthday": "date"},
    }


def test_dates_in_non_ascii_digits_are_refused_in_every_api_date_field(shop) -> None:
    accepted = []
    for (method, path), fields in api_date_fields().items():
        for field, kind in fields.items():
            for value in NON_ASCII_DATES[kind]:
                url, body = valid_request(shop, method, path)
                before = written()
                django_cache.clear()
                response = shop["client"].generic(
                    method, url, json.dumps({**body, field: value}), content_type="application/json"
                )
                refused = (
                    response.status_code == 400 and field in response.json()["error"]["fields"]
                )
                if not refused or written() != before:
                    accepted.append((path, field, value, response.status_code))
    assert accepted == []


def test_hostile_values_in_an_api_query_string_are_a_json_400(shop) -> None:
    for query in ("member_id=%00", "member_id=%C2%B2", "member_id=%ED%A0%80", "x%00=1"):
        response = shop["client"].get(f"/api/v1/rewards/?{query}")

        assert (response.status_code, response["Content-Type"]) == (400, "application/json")


# --- member forms ------------------------------------------------------------------------

FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.IGNORECASE)
SKIPPED = {"csrfmiddlewaretoken"}
HOSTILE_FORM = ["a\x00b", "\ud800", "x" * 10_000, "²", "١٠٠", "1_000", ["a", "b"]]
SURROGATE_BYTES = "%ED%A0%80"  # what a browser sends for U+D800 (not valid UTF-8)


def form_fields(client: Client, url: str) -> list[str]:
    page = client.get(url).content.decode()
    return sorted(set(FIELD.findall(page)) - SKIPPED)


def form_body(fields: list[str], field: str, value: Any) -> str:
    pairs = dict.fromkeys(fields, "1")
    if value == "\ud800":
        return urlencode({**pairs, field: "__hostile__"}).replace("__hostile__", SURROGATE_BYTES)
    return urlencode({**pairs, field: value}, doseq=True)


@pytest.fixture
def member_pages(shop) -> tuple[Client, list[tuple[str, str]]]:
    """Every member form: (page that shows it, URL it posts to)."""
    client = Client()
    client.force_login(shop["account"].member)
    reward = shop["reward"]
    voucher = reward_redeem(account=shop["account"], reward=reward, idempotency_key="page")
    pages = [
        ("/me/profile/", "/me/profile/"),
        ("/refer/", "/refer/"),
        (f"/me/rewards/{reward.pk}/redeem/", f"/me/rewards/{reward.pk}/redeem/"),
        ("/me/profile/export/", "/me/profile/export/"),
        ("/me/profile/delete/", "/me/profile/delete/"),
        (f"/me/vouchers/{voucher.pk}/", f"/me/vouchers/{voucher.pk}/cancel/"),
        ("/me/activity/", "/me/activity/"),
    ]
    return client, pages


def test_hostile_values_in_every_member_form_never_give_a_500(member_pages) -> None:
    client, pages = member_pages
    failures = []
    for page, target in pages:
        fields = form_fields(client, page)
        failures += _sweep_form(client, target, fields)
    assert failures == []


@pytest.mark.parametrize("page", ["/accounts/signup/", "/accounts/login/"])
def test_hostile_values_in_signup_and_login_never_give_a_500(client, page) -> None:
    fields = form_fields(client, page)

    assert "email" in fields or "login" in fields
    assert _sweep_form(client, page, fields) == []


def _send(client: Client, target: str, body: str):
    if target == "/me/activity/":  # a filter: the form is sent as a query string
        return client.get(f"{target}?{body}")
    return client.post(target, body, content_type="application/x-www-form-urlencoded")


def _sweep_form(client: Client, target: str, fields: list[str]) -> list[tuple]:
    failures = []
    for field in fields:
        for value in HOSTILE_FORM:
            before = written()
            django_cache.clear()
            body = form_body(fields, field, value)
            response = _send(client, target, body)
            if response.status_code >= 500:
                failures.append((target, field, str(value)[:10], response.status_code))
            if value == "a\x00b" and (response.status_code != 400 or written() != before):
                failures.append((target, field, "NUL", response.status_code))
    return failures
