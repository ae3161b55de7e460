from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from accounts.services import (
    LANGUAGE_CODES,
    marketing_unsubscribe,
    unsubscribe_user,
    user_language_set,
)


class LanguageSwitchView(View):
    """Django's ``set_language`` that also remembers the choice on the member's profile."""

    def post(self, request: HttpRequest) -> HttpResponse:
        response = set_language(request)
        language = request.POST.get("language", "")
        if request.user.is_authenticated and language in LANGUAGE_CODES:
            user_language_set(user=request.user, language=language)
        return response


@method_decorator(csrf_exempt, name="dispatch")  # mail clients POST without a CSRF token
class UnsubscribeView(View):
    """The link in every marketing email: GET asks, POST (also RFC 8058 one-click) stops
    marketing emails. The signed token names the member; no sign-in needed."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        user = unsubscribe_user(token=token)
        return render(
            request,
            "accounts/unsubscribe.html",
            {"member": user, "done": False},
            status=200 if user else 404,
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        user = unsubscribe_user(token=token)
        if user is None:
            return render(request, "accounts/unsubscribe.html", {"member": None}, status=404)
        marketing_unsubscribe(user=user)
        return render(request, "accounts/unsubscribe.html", {"member": user, "done": True})
