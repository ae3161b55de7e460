"""``/healthz``: is this node able to serve? Checks the database and the broker.

Without the database nothing works: ``503``, and the load balancer takes the node out.
Without the broker the node still serves every page and write (tasks wait in the outbox,
config/outbox.py, and go out when the broker is back): ``200`` with ``"status":
"degraded"``, so that a Redis outage, shared by every node, does not take the whole site
out of the load balancer. Alert on any status other than ``ok``.

Answered by a middleware placed first, so load balancers get an answer whatever Host
header they send and without the HTTPS redirect."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from celery import current_app
from django.db import connection
from django.http import HttpRequest, HttpResponse

PATH = "/healthz"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _broker() -> str:
    with current_app.connection_for_write() as conn:
        # One quick second try, no back-off: the broker's own connect and socket timeouts
        # (REDIS_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT) bound each try, also on a hung Redis.
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
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
    if checks["database"] != "ok":
        return 503, {"status": "error", **checks}
    return 200, {"status": "ok" if checks["broker"] == "ok" else "degraded", **checks}


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
