from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import override_settings

from config.logs import JsonFormatter, RedactFilter, redact
from loyalty.services.apikeys import api_key_create

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client) -> None:
    response = client.get("/healthz", HTTP_HOST="10.0.0.7")  # a load balancer's own host

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert response["Cache-Control"] == "no-store"


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_not_redirected_to_https(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


def test_healthz_says_when_the_broker_is_down_but_keeps_the_node_serving(
    client, monkeypatch
) -> None:
    from config import health

    def down() -> str:
        raise ConnectionRefusedError

    monkeypatch.setattr(health, "_broker", down)
    response = client.get("/healthz")

    assert response.status_code == 200  # pages and writes work; tasks wait in the outbox
    body = response.json()
    assert (body["status"], body["database"]) == ("degraded", "ok")
    assert body["broker"] == "error: ConnectionRefusedError"


def test_healthz_is_503_without_the_database(client, monkeypatch) -> None:
    from config import health

    def down() -> str:
        raise ConnectionRefusedError

    monkeypatch.setattr(health, "_database", down)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /api/v1/vouchers/7KQ4M-XW9TD/ 404", "GET /api/v1/vouchers/***/ 404"),
        ("Not Found: /unsubscribe/eyJhbGci.abc/", "Not Found: /unsubscribe/***/"),
        ("/accounts/confirm-email/Mg:1v2:abc/", "/accounts/confirm-email/***/"),
        ("/accounts/password/reset/key/3-abc/", "/accounts/password/reset/key/***/"),
        ("Authorization: Api-Key vafa_ab12_secret", "Authorization: Api-Key ***"),
        ("signup from ana.lopez+x@example.com", "signup from ***@***"),
    ],
)
def test_secrets_and_personal_data_are_redacted(text, expected) -> None:
    assert redact(text) == expected


def test_json_lines_carry_request_fields() -> None:
    record = logging.LogRecord("vafa.access", logging.INFO, __file__, 1, "GET %s", ("/me/",), None)
    record.status = 200
    RedactFilter().filter(record)

    line = json.loads(JsonFormatter().format(record))

    assert (line["message"], line["status"], line["level"]) == ("GET /me/", 200, "INFO")


@pytest.fixture
def console():
    """What the configured console handler (with its redaction filter) really writes."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_no_secret_or_personal_data_in_logs(client, console) -> None:
    raw = api_key_create(name="shop")[1]
    email, password = "secret.person@example.com", "a-long-unusual-passphrase"
    client.post(
        "/accounts/signup/",
        {"email": email, "password1": password, "password2": password, "accept_terms": "on"},
    )
    client.get("/api/v1/vouchers/7KQ4M-XW9TD/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.post(
        "/api/v1/events/",
        {"idempotency_key": "k", "type": "purchase", "member_email": email},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
    )

    logged = console.getvalue()
    assert "/api/v1/vouchers/***/" in logged
    for secret in (email, password, raw, "7KQ4M-XW9TD"):
        assert secret not in logged
