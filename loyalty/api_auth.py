"""DRF glue for shop API keys: ``Authorization: Api-Key <key>``, a permission that needs
one, a per-key throttle, and a per-IP limit on failed keys (against guessing)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from config.cache import counter_hit
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
    failures = counter_hit(f"apikey-fail:{client_ip(request)}", 60)
    if failures > limit:
        raise exceptions.Throttled(wait=60, detail=str(_("Too many invalid API keys.")))


class HasApiKey(BasePermission):
    message = _("An API key is required: Authorization: Api-Key <key>.")

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, ApiKey)


class WindowRateThrottle(SimpleRateThrottle):
    """DRF's rate syntax ("6000/min"), counted in fixed windows by one atomic counter.

    DRF's own throttle keeps every request time of the last window in one cache value and
    rewrites it on each request, so its cost grows with the rate (6,000 timestamps read and
    written per request at the default). Here a request costs one Redis round trip. The
    price: at a window's edge a client can get up to twice the rate in a short burst."""

    def allow_request(self, request: Request, view: object) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        self.window_left = self.duration - (now % self.duration)
        count = counter_hit(f"{key}:{int(now // self.duration)}", self.duration + 1)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.window_left


class ApiKeyRateThrottle(WindowRateThrottle):
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
