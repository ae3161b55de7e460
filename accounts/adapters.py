"""allauth customisation: how members are created from the sign-up form."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.utils import translation

from accounts.managers import email_canonical, email_normalize
from accounts.services import LANGUAGE_CODES, user_consent_apply


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=False)
        user.email = email_normalize(user.email)
        user.email_canonical = email_canonical(user.email)
        data = form.cleaned_data
        user.first_name = data.get("first_name", "")
        user.last_name = data.get("last_name", "")
        language = translation.get_language() or ""
        if language in LANGUAGE_CODES:
            user.language = language
        user_consent_apply(user=user, consent=bool(data.get("marketing_consent")))
        if commit:
            user.save()
        return user
