"""One error format for the whole API:

``{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}``
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from loyalty.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    LedgerError,
    NotRestorable,
    NotReversible,
)

CONFLICTS = (IdempotencyConflict, InsufficientPoints, NotRestorable, NotReversible)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _from_domain(exc: LedgerError) -> Response:
    status_code = getattr(exc, "status", None)
    if status_code is None:
        status_code = status.HTTP_409_CONFLICT if isinstance(exc, CONFLICTS) else 400
    field = getattr(exc, "field", "")
    fields = {field: [exc.message]} if field else {}
    return Response(error_body(exc.code, exc.message, fields), status=status_code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, LedgerError):
        return _from_domain(exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", _("The request has invalid fields."), detail)
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(
            exc.get_codes() if isinstance(exc.get_codes(), str) else "error", str(exc.detail)
        )
    return response
