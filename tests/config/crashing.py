"""Test-only: the real URLs plus views and a middleware that crash, to prove that errors
DRF never sees still reach an API client as JSON. Used through ``settings.ROOT_URLCONF``."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500, urlpatterns

MIDDLEWARE_CRASH_PATH = "/api/v1/crash-in-middleware/"
MIDDLEWARE_READS_BODY_PATH = "/api/v1/body-read-in-middleware/"


class CrashApi(APIView):
    def get(self, request: Request) -> HttpResponse:
        raise RuntimeError("a bug in a DRF view")


def crash_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain Django view")


def busy_text_view(request: HttpRequest) -> HttpResponse:
    """A view that answers an error in its own format, as a third-party view might."""
    response = HttpResponse("slow down", status=429, content_type="text/plain")
    response["Retry-After"] = "30"
    return response


class CrashMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == MIDDLEWARE_CRASH_PATH:
            raise RuntimeError("a bug in a middleware")
        if request.path == MIDDLEWARE_READS_BODY_PATH:
            request.body  # noqa: B018 (Django refuses a body over its upload limit here)
        return self.get_response(request)


urlpatterns = [
    path("api/v1/crash-drf/", CrashApi.as_view()),
    path("api/v1/crash-django/", crash_view),
    path("api/v1/busy-text/", busy_text_view),
    path("crash-page/", crash_view),
    *urlpatterns,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
