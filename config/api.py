"""One error format for the whole API:

``{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}``
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import defaults
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
API_PREFIX = "/api/"


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
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
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


class RequestTooLarge(exceptions.APIException):
    """Django refuses a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` while DRF parses it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _lazy("The request body is too large.")
    default_code = "request_too_large"


# --- Django's error handlers (config/urls.py): JSON under /api/, the HTML pages elsewhere.
# They answer what DRF never sees: unknown paths, errors raised in middleware or while
# reading the body, and crashes (DEBUG off; with DEBUG on Django shows its debug pages).


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _json_error(exc: exceptions.APIException, code: str = "") -> JsonResponse:
    body = error_body(code or str(exc.default_code), str(exc.detail))
    return JsonResponse(body, status=exc.status_code)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _json_error(RequestTooLarge())
    return _json_error(exceptions.ParseError())


def handler403(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.permission_denied(request, exception)
    return _json_error(exceptions.PermissionDenied())


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception)
    return _json_error(exceptions.NotFound())


def handler500(request: HttpRequest) -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request)
    return _json_error(exceptions.APIException(), code="server_error")


# --- the last word: whatever produced an error under /api/ (a third-party view such as the
# schema or the docs, a renderer chosen for a success, a future view), it leaves as JSON.

JSON_TYPE = "application/json"
DEBUG_PAGES = (404, 500)  # DEBUG=1 keeps Django's debug pages for these
ERRORS_BY_STATUS: dict[int, Callable[[HttpRequest], exceptions.APIException]] = {
    400: lambda request: exceptions.ParseError(),
    401: lambda request: exceptions.NotAuthenticated(),
    403: lambda request: exceptions.PermissionDenied(),
    404: lambda request: exceptions.NotFound(),
    405: lambda request: exceptions.MethodNotAllowed(request.method or ""),
    406: lambda request: exceptions.NotAcceptable(),
    415: lambda request: exceptions.UnsupportedMediaType(request.content_type or ""),
    429: lambda request: exceptions.Throttled(),
    500: lambda request: exceptions.APIException(),
}
KEPT_OUT = {"content-type", "content-length"}


def _is_json(response: HttpResponse) -> bool:
    media_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return media_type == JSON_TYPE


def _needs_json(request: HttpRequest, response: HttpResponse) -> bool:
    if not _is_api(request) or response.status_code < 400 or _is_json(response):
        return False
    return not (settings.DEBUG and response.status_code in DEBUG_PAGES)


def json_error_for(request: HttpRequest, status_code: int) -> JsonResponse:
    """The documented error of a status (``error`` and the HTTP reason for the others)."""
    make = ERRORS_BY_STATUS.get(status_code)
    if make is None:
        body = error_body("error", HTTPStatus(status_code).phrase)
        return JsonResponse(body, status=status_code)
    exc = make(request)
    code = "server_error" if status_code == 500 else str(exc.default_code)
    return JsonResponse(error_body(code, str(exc.detail)), status=status_code)


class ApiErrorShapeMiddleware:
    """An error under /api/ whose body is not JSON (HTML, YAML, OpenAPI JSON) is replaced by
    the JSON error of its status, keeping its other headers (``Allow``, ``Retry-After``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _needs_json(request, response):
            return response
        replacement = json_error_for(request, response.status_code)
        for header, value in response.headers.items():
            if header.lower() not in KEPT_OUT:
                replacement[header] = value
        replacement.cookies = response.cookies
        return replacement
