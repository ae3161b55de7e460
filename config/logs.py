"""Structured logging: one JSON object per line, with secrets and personal data kept out.

Paths carry bearer secrets (voucher codes, unsubscribe tokens, email confirmation and
password reset keys); ``RedactFilter`` masks them in every record, including Django's own
"Not Found: /path" warnings. ``RequestLogMiddleware`` writes the access log (method,
redacted path, status, duration), so the web server's own access log can stay off."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

SECRET_PATHS = [
    (re.compile(r"(/api/v1/vouchers/)[^/\s]+"), r"\1***"),
    (re.compile(r"(/unsubscribe/)[^/\s]+"), r"\1***"),
    (re.compile(r"(/accounts/confirm-email/)[^/\s]+"), r"\1***"),
    (re.compile(r"(/accounts/password/reset/key/)[^/\s]+"), r"\1***"),
    (re.compile(r"(Api-Key\s+)\S+", re.IGNORECASE), r"\1***"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "***@***"),
]


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("method", "path", "status", "duration_ms", "task_id", "task_name")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


access = logging.getLogger("vafa.access")


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        duration = round((time.monotonic() - started) * 1000, 1)
        path = redact(request.path)
        access.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration,
            },
        )
        return response
