from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import View
from django.views.i18n import set_language

from accounts.services import LANGUAGE_CODES, user_language_set


class LanguageSwitchView(View):
    """Django's ``set_language`` that also remembers the choice on the member's profile."""

    def post(self, request: HttpRequest) -> HttpResponse:
        response = set_language(request)
        language = request.POST.get("language", "")
        if request.user.is_authenticated and language in LANGUAGE_CODES:
            user_language_set(user=request.user, language=language)
        return response
