"""Every error under /api/ is the documented JSON shape with the right status, also for
what DRF never sees (unknown paths, bodies too large, crashes in views and middleware),
with DEBUG off as in production. Elsewhere the HTML pages stay."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from loyalty.models import Event
from loyalty.services.apikeys import api_key_create
from tests.config.crashing import MIDDLEWARE_CRASH_PATH, MIDDLEWARE_READS_BODY_PATH
from tests.loyalty.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings) -> None:
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.config.crashing"
    settings.MIDDLEWARE = ["tests.config.crashing.CrashMiddleware", *settings.MIDDLEWARE]


@pytest.fixture
def api() -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(name='Shop')[1]}")
    return client


def error_of(response) -> tuple[int, str, str]:
    """Status, content type and error code; fails unless the body is the documented shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return response.status_code, response["Content-Type"], body["error"]["code"]


JSON = "application/json"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/members/-1/", "/api/v1/no-such-thing/", "/api/v2/members/1/", "/api/"],
)
def test_unknown_paths_under_api_are_json_404(api, path) -> None:
    response = api.get(path)

    assert error_of(response) == (404, JSON, "not_found")
    assert response.json()["error"]["message"] == "Not found."


def test_the_404_message_follows_accept_language_like_the_views_own(api) -> None:
    response = api.get("/api/v1/members/-1/", HTTP_ACCEPT_LANGUAGE="ru")
    from_the_view = api.get("/api/v1/members/999999/", HTTP_ACCEPT_LANGUAGE="ru")

    assert error_of(response) == (404, JSON, "not_found")
    assert response.json() == from_the_view.json()
    assert response.json()["error"]["message"] != "Not found."


def test_a_body_over_the_upload_limit_is_json_400_and_writes_nothing(api, settings) -> None:
    member = AccountFactory().member
    body = json.dumps(
        {
            "idempotency_key": "big",
            "type": "review",
            "member_id": member.pk,
            "metadata": {"pad": "x" * (3 * 1024 * 1024)},
        }
    )

    response = api.post("/api/v1/events/", data=body, content_type="application/json")

    assert error_of(response) == (400, JSON, "request_too_large")
    assert response.json()["error"]["message"] == "The request body is too large."
    assert Event.objects.count() == 0


def test_a_body_too_large_for_a_middleware_is_json_400_too(api) -> None:
    body = "x" * (3 * 1024 * 1024)

    response = api.post(MIDDLEWARE_READS_BODY_PATH, data=body, content_type="application/json")

    assert error_of(response) == (400, JSON, "request_too_large")


def test_a_wrong_method_is_json_405(api) -> None:
    assert error_of(api.delete("/api/v1/events/")) == (405, JSON, "method_not_allowed")


def test_a_body_that_is_not_json_is_json_415(api) -> None:
    response = api.post("/api/v1/events/", data="type=review", content_type="text/plain")

    assert error_of(response) == (415, JSON, "unsupported_media_type")


def test_too_many_invalid_keys_is_json_429_with_retry_after(settings) -> None:
    settings.API_FAILED_KEYS_PER_MINUTE = 2
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION="Api-Key vafa_00000000_wrong")

    statuses = [client.get("/api/v1/rewards/").status_code for _ in range(3)]
    response = client.get("/api/v1/rewards/")

    assert statuses == [401, 401, 429]
    assert error_of(response) == (429, JSON, "throttled")
    assert response["Retry-After"] == "60"


@pytest.mark.parametrize(
    "path", ["/api/v1/crash-drf/", "/api/v1/crash-django/", MIDDLEWARE_CRASH_PATH]
)
def test_a_crash_is_json_500(api, path) -> None:
    response = api.get(path)

    assert error_of(response) == (500, JSON, "server_error")
    assert response.json()["error"]["message"] == "A server error occurred."


def test_pages_outside_the_api_keep_their_html_errors(client) -> None:
    client.raise_request_exception = False

    missing = client.get("/no-such-page/")
    crash = client.get("/crash-page/")

    assert (missing.status_code, missing["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert (crash.status_code, crash["Content-Type"]) == (500, "text/html; charset=utf-8")


# --- views that render their errors in their own format (the schema, the docs) -----------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_wrong_method_on_the_api_docs_is_json_405_with_allow(api, method) -> None:
    response = getattr(api, method)("/api/docs/")

    assert error_of(response) == (405, JSON, "method_not_allowed")
    assert response.json()["error"]["message"] == f'Method "{method.upper()}" not allowed.'
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("query", ["", "?format=json", "?format=yaml"])
def test_a_wrong_method_on_the_schema_is_json_405(api, query) -> None:
    response = api.post(f"/api/schema/{query}")

    assert error_of(response) == (405, JSON, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_an_unknown_schema_format_is_json_404(api) -> None:
    response = api.get("/api/schema/?format=xml")

    assert error_of(response) == (404, JSON, "not_found")


def test_the_schema_and_the_docs_keep_their_own_formats_when_they_succeed(api) -> None:
    schema = api.get("/api/schema/")
    as_json = api.get("/api/schema/?format=json")
    docs = api.get("/api/docs/")

    assert (schema.status_code, schema["Content-Type"]) == (
        200,
        "application/vnd.oai.openapi; charset=utf-8",
    )
    assert (as_json.status_code, as_json["Content-Type"]) == (
        200,
        "application/vnd.oai.openapi+json",
    )
    assert (docs.status_code, docs["Content-Type"]) == (200, "text/html; charset=utf-8")


def test_any_view_answering_an_error_in_another_format_is_json_with_its_headers(api) -> None:
    response = api.get("/api/v1/busy-text/")

    assert error_of(response) == (429, JSON, "throttled")
    assert response["Retry-After"] == "30"
