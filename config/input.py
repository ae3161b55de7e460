"""Hostile input refused at the edge, once, for every field (issue 15).

PostgreSQL's text and jsonb refuse NUL (``\\u0000``); a JSON ``"\\ud800"`` escape decodes to a
lone surrogate that no encoder accepts; Python's JSON parser recurses; ``str.isdigit()``
accepts ``²`` and ``int()`` accepts ``١٠٠``. So:

- ``HostileInputMiddleware`` answers 404 for a path and 400 for a query string or a
  form-encoded body that carries NUL or a lone surrogate (JSON under ``/api/``);
- ``StrictJSONParser`` (the API's only parser) refuses them in any string of a JSON body,
  keys included, at any depth, and refuses bodies nested deeper than ``MAX_JSON_DEPTH``;
- ``ascii_id`` is the one place an id in request data is parsed: 1 to 18 ASCII digits
  (query strings, bodies through ``StrictIntegerField``, paths through ``AsciiIdConverter``);
- ``digits_ascii`` turns the Persian and Arabic-Indic digits a member may type into ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

HOSTILE = re.compile("[\x00\ud800-\udfff]")
ASCII_ID = re.compile(r"[0-9]{1,18}")
MAX_JSON_DEPTH = 32
API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MEMBER_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def text_is_hostile(value: str) -> bool:
    """Does the text carry NUL or a lone surrogate (which no database or encoder stores)?"""
    return HOSTILE.search(value) is not None


def hostile_message() -> str:
    return _("Text cannot contain NUL characters or unpaired surrogates.")


def ascii_id(value: object) -> int | None:
    """An id from request data: 1 to 18 ASCII digits (not ``²``, not ``١٠٠``), else None."""
    if isinstance(value, str) and ASCII_ID.fullmatch(value):
        return int(value)
    return None


def id_message() -> str:
    return _("An id is a whole number of 1 to 18 ASCII digits.")


class AsciiIdConverter:
    """``<id:member_id>`` in a URL: what ``ascii_id`` takes, else the path is unknown (404)."""

    regex = ASCII_ID.pattern

    def to_python(self, value: str) -> int:
        parsed = ascii_id(value)
        if parsed is None:
            raise ValueError(value)
        return parsed

    def to_url(self, value: object) -> str:
        return str(value)


def digits_ascii(value: str) -> str:
    """Persian and Arabic-Indic digits typed by a member, as ASCII digits."""
    return value.translate(MEMBER_DIGITS)


# --- JSON bodies -------------------------------------------------------------------


def json_problem(data: Any) -> tuple[str, str] | None:
    """The first problem of a parsed JSON document as (top-level field, message), walking
    it without recursion: a string (or key) that is hostile, or nesting too deep."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, field = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return field, _("Nested deeper than %(depth)d levels.") % {"depth": MAX_JSON_DEPTH}
        if isinstance(value, str) and text_is_hostile(value):
            return field, hostile_message()
        if isinstance(value, dict):
            for key, item in value.items():
                name = field or key
                if text_is_hostile(key):
                    return ("" if depth == 0 else field), hostile_message()
                stack.append((item, depth + 1, name))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, field) for item in value)
    return None


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what the database or Python cannot take: a clear 400 in
    the API's error shape instead of a server error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                _("JSON parse error - nested deeper than %(depth)d levels.")
                % {"depth": MAX_JSON_DEPTH}
            ) from None
        if problem := json_problem(data):
            field, message = problem
            raise exceptions.ValidationError({field or "non_field_errors": [message]})
        return data


# --- forms --------------------------------------------------------------------------


def json_value_safe(value: Any) -> None:
    """A form JSONField's value (admin: metadata, details) must be storable."""
    if json_problem(value) is not None:
        raise ValidationError(hostile_message(), code="hostile")


def forms_refuse_hostile_json() -> None:
    """Every form JSONField decodes ``"\\u0000"`` escapes into NUL: refuse it there.
    Django's CharField already carries ProhibitNullCharactersValidator."""
    if json_value_safe not in forms.JSONField.default_validators:
        forms.JSONField.default_validators = [
            *forms.JSONField.default_validators,
            json_value_safe,
        ]


# --- middleware ---------------------------------------------------------------------


def _params_hostile(params: Any) -> str | None:
    for key, values in params.lists():
        if text_is_hostile(key):
            return ""
        if any(text_is_hostile(v) for v in values):
            return key
    return None


def _refusal(request: HttpRequest, status: int, field: str | None) -> HttpResponse:
    api = request.path_info.startswith(API_PREFIX)
    if status == 404:
        message = _("Not found.")
        if api:
            return JsonResponse(_error("not_found", message), status=404)
        return HttpResponse(message, status=404, content_type="text/plain; charset=utf-8")
    if api:
        fields = {field or "non_field_errors": [hostile_message()]}
        body = _error("invalid", _("The request has invalid fields."), fields)
        return JsonResponse(body, status=400)
    return HttpResponseBadRequest(hostile_message(), content_type="text/plain; charset=utf-8")


def _error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    from config.api import error_body

    return error_body(code, message, fields)


class HostileInputMiddleware:
    """NUL or a lone surrogate in the path (404), the query string or a form-encoded body
    (400). JSON bodies are checked by ``StrictJSONParser``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if text_is_hostile(request.path_info):
            return _refusal(request, 404, None)
        field = _params_hostile(request.GET)
        if field is None and self._form_body(request):
            field = _params_hostile(request.POST)
        if field is not None:
            return _refusal(request, 400, field)
        return self.get_response(request)

    @staticmethod
    def _form_body(request: HttpRequest) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        if request.path_info.startswith(API_PREFIX):
            return False  # the API parses JSON only; anything else is a 415 there
        return request.content_type in FORM_TYPES
