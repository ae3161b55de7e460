"""``/healthz``: is this node able to serve? Checks the database and the broker.

Answered by a middleware placed first, so load balancers get an answer whatever Host
header they send and without the HTTPS redirect."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse

from config.celery import app

PATH = "/healthz"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def health() -> tuple[int, dict[str, object]]:
    checks: dict[str, object] = {}
    for name, check in (("database", _database), ("broker", _broker)):
        started = time.monotonic()
        try:
            checks[name] = check()
        except Exception as error:
            checks[name] = f"error: {type(error).__name__}"
        checks[f"{name}_ms"] = round((time.monotonic() - started) * 1000, 1)
    healthy = all(checks[name] == "ok" for name in ("database", "broker"))
    return (200 if healthy else 503), {"status": "ok" if healthy else "error", **checks}


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.rstrip("/") != PATH:
            return self.get_response(request)
        status, body = health()
        response = HttpResponse(json.dumps(body), content_type="application/json", status=status)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
