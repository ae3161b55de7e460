"""Every response carries the Content-Security-Policy and the Permissions-Policy; operators
add sources with CSP_EXTRA or try the policy out with CSP_REPORT_ONLY. What the browser
does under them is tested in tests/browser/test_security_headers.py."""

from __future__ import annotations

import pytest

from config.security_headers import csp_header

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/rewards/", "/nowhere/"])
def test_every_response_carries_both_policies(client, path: str) -> None:
    response = client.get(path)

    assert response["Content-Security-Policy"] == POLICY
    permissions = response["Permissions-Policy"].split(", ")
    for feature in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"]:
        assert feature in permissions


def test_operators_add_sources_per_directive(client, settings) -> None:
    settings.CSP_EXTRA = "img-src https://cdn.shop.test data:; connect-src https://errors.test"

    response = client.get("/")

    csp = response["Content-Security-Policy"]
    assert "; img-src 'self' data: https://cdn.shop.test;" in csp
    assert "; connect-src 'self' https://errors.test;" in csp


def test_a_new_directive_is_appended() -> None:
    base = {"default-src": ["'self'"]}

    header = csp_header(base=base, extra=" report-uri /csp-report/ ;; ")

    assert header == "default-src 'self'; report-uri /csp-report/"
    assert base == {"default-src": ["'self'"]}


def test_report_only_mode_blocks_nothing(client, settings) -> None:
    settings.CSP_REPORT_ONLY = True

    response = client.get("/")

    assert "Content-Security-Policy" not in response
    assert response["Content-Security-Policy-Report-Only"] == POLICY
