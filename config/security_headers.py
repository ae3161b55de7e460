"""``Content-Security-Policy`` and ``Permissions-Policy`` on every response (Django 5.2 has
no built-in CSP; 6.0 adds one). The policy allows this site's own files only: every script
is a static file (no inline script, no ``on*=`` attribute), Bootstrap's CSS draws icons
from ``data:`` images, and inline ``style`` attributes are allowed (the admin and Swagger
UI use them). Operators add sources with ``CSP_EXTRA`` (see docs/configuration.md)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def csp_parse(text: str) -> dict[str, list[str]]:
    """``"img-src https://a; connect-src https://b"`` -> ``{"img-src": ["https://a"], ...}``."""
    directives: dict[str, list[str]] = {}
    for part in text.split(";"):
        if words := part.split():
            directives.setdefault(words[0].lower(), []).extend(words[1:])
    return directives


def csp_header(*, base: dict[str, list[str]], extra: str) -> str:
    """The policy: ``base`` with the sources of ``extra`` added per directive."""
    directives = {name: list(sources) for name, sources in base.items()}
    for name, sources in csp_parse(extra).items():
        found = directives.setdefault(name, [])
        found.extend(source for source in sources if source not in found)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def permissions_header(*, features: list[str]) -> str:
    return ", ".join(f"{feature}=()" for feature in features)


class SecurityHeadersMiddleware:
    """Adds both headers unless a view already set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp_name = (
            "Content-Security-Policy-Report-Only"
            if settings.CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )
        self.csp = csp_header(base=settings.CSP_DIRECTIVES, extra=settings.CSP_EXTRA)
        self.permissions = permissions_header(features=settings.PERMISSIONS_POLICY_DISABLED)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(self.csp_name, self.csp)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response
