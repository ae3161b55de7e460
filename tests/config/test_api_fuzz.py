"""schemathesis generates requests from our own OpenAPI schema and sends them through the
real WSGI application: whatever it sends, the API never answers with a server error, every
answer matches the documented schema, and every operation of the schema is exercised."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from loyalty.services.apikeys import api_key_create
from tests.loyalty.factories import AccountFactory, EarningRuleFactory

pytestmark = pytest.mark.django_db

# Every operation of the API, by method and path: a new one must be added here, and so
# is fuzzed too.
OPERATIONS = {
    "POST /api/v1/events/",
    "POST /api/v1/members/",
    "GET /api/v1/members/{member_id}/",
    "GET /api/v1/members/{member_id}/ledger/",
    "POST /api/v1/members/{member_id}/redemptions/",
    "GET /api/v1/rewards/",
    "GET /api/v1/vouchers/{code}/",
    "POST /api/v1/vouchers/{code}/use/",
}
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _operations() -> list:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Like Django's test client: calling the WSGI app directly must not close the test's
    database connection (and its open transaction) at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_never_answers_with_a_server_error() -> None:
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    members = [AccountFactory().member for _ in range(3)]
    operations = _operations()
    # One key per operation: the unknown-voucher limit of one must not shut out the next.
    headers = {
        operation.label: {"Authorization": f"Api-Key {api_key_create(name='fuzz')[1]}"}
        for operation in operations
    }
    answered: dict[str, list[int]] = {}

    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case) -> None:
            response = case.call_and_validate(
                headers=headers[case.operation.label],
                checks=[not_a_server_error, response_schema_conformance],
            )
            answered.setdefault(case.operation.label, []).append(response.status_code)

        fuzz()

    # Every operation was called, and answered past authentication and throttling at
    # least once (its own code ran: a 2xx, or its own 400/404/409).
    reached = {label for label, codes in answered.items() if set(codes) - {401, 403, 429}}
    assert {operation.label for operation in operations} == OPERATIONS
    assert reached == OPERATIONS
    assert members[0].pk
