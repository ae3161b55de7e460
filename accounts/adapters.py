"""allauth customisation: how members are created from the sign-up form, and how allauth's
emails (verification, password reset, notifications) get the club's name, layout, language
direction and links on ``SITE_URL`` (templates in templates/account/email/)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from accounts.managers import email_canonical, email_normalize
from accounts.services import LANGUAGE_CODES, user_consent_apply

# The links allauth puts in its emails, built from the request's host; they are rebuilt on
# SITE_URL so that an email never points at an internal host name.
EMAIL_URL_KEYS = ("activate_url", "password_reset_url", "signup_url")


def site_url_of(url: str) -> str:
    """``url``'s path and query on ``SITE_URL``."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{settings.SITE_URL}{parts.path}{query}"


def email_context(context: dict[str, Any]) -> dict[str, Any]:
    """What the club's email layout needs, on top of allauth's context."""
    links = {key: site_url_of(context[key]) for key in EMAIL_URL_KEYS if context.get(key)}
    return {
        **context,
        **links,
        "SITE_URL": settings.SITE_URL,
        "PROGRAM_NAME": settings.PROGRAM_NAME,
        "LANGUAGE_CODE": translation.get_language(),
        "LANGUAGE_BIDI": translation.get_language_bidi(),
    }


def email_language(*, email: str, context: dict[str, Any]) -> str | None:
    """The language of a member's account for mail to them; ``None`` (the request's language)
    for an address that belongs to nobody, such as a password reset for an unknown account."""
    from accounts.models import User

    user = context.get("user")
    if user is None:
        user = User.objects.filter(email_canonical=email_canonical(email)).first()
    language = getattr(user, "language", "")
    return language if language in LANGUAGE_CODES else None


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        language = email_language(email=email, context=context) or translation.get_language()
        with translation.override(language):
            super().send_mail(template_prefix, email, email_context(context))

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
