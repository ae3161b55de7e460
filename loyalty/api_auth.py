"""DRF glue for shop API keys: ``Authorization: Api-Key <key>``, a permission that needs
one, a per-key throttle, and a per-IP limit on failed keys (against guessing)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from loyalty.models import ApiKey
from loyalty.services.apikeys import api_key_authenticate

KEYWORD = b"api-key"


def client_ip(request: Request) -> str:
    """The client address as DRF sees it (X-Forwarded-For only from trusted proxies)."""
    return BaseThrottle().get_ident(request)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKey, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Use the header: Authorization: Api-Key <key>.")
            )
        api_key = api_key_authenticate(raw=parts[1].decode("latin-1"))
        if api_key is None:
            _count_failure(request)
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return api_key, api_key

    def authenticate_header(self, request: Request) -> str:
        return "Api-Key"


def _count_failure(request: Request) -> None:
    limit = settings.API_FAILED_KEYS_PER_MINUTE
    key = f"apikey-fail:{client_ip(request)}"
    cache.add(key, 0, 60)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        failures = 1
    if failures > limit:
        raise exceptions.Throttled(wait=60, detail=str(_("Too many invalid API keys.")))


class HasApiKey(BasePermission):
    message = _("An API key is required: Authorization: Api-Key <key>.")

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "loyalty.api_auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create keys in the admin or with "
            "`manage.py create_api_key NAME`.",
        }
