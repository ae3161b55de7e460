"""Every write to users and member profiles."""

from __future__ import annotations

from datetime import datetime, timedelta

from allauth.account import app_settings as allauth_settings
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.emails import email_send
from accounts.models import LoginTrace, User

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def user_consent_apply(*, user: User, consent: bool, at: datetime | None = None) -> None:
    """Set marketing consent on an unsaved or locked user, stamping when it was given.

    Giving consent again keeps the original time; withdrawing clears it.
    """
    if consent and not user.marketing_consent:
        user.marketing_consent_at = at or timezone.now()
    elif not consent:
        user.marketing_consent_at = None
    user.marketing_consent = consent


@transaction.atomic
def user_language_set(*, user: User, language: str) -> None:
    """Remember the member's language for pages and emails."""
    if language not in LANGUAGE_CODES:
        raise ValueError(f"Unsupported language: {language!r}")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


def set_password_url(*, user: User) -> str:
    """An absolute link to allauth's password-reset-from-key page for ``user``."""
    token = allauth_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return settings.SITE_URL + path.replace("UID-KEY", f"{user_pk_to_url_str(user)}-{token}")


def member_set_password_email_send(*, user: User) -> None:
    email_send(
        user=user,
        template="set_password",
        context={"set_password_url": set_password_url(user=user)},
    )


def login_trace_record(*, user: User, ip_hash: str) -> None:
    """Remember a sign-in's hashed address (fraud evidence); traces older than 90 days go."""
    LoginTrace.objects.create(user=user, ip_hash=ip_hash)
    LoginTrace.objects.filter(
        user=user, created_at__lt=timezone.now() - timedelta(days=90)
    ).delete()


UNSUBSCRIBE_SALT = "vafa.unsubscribe"


def unsubscribe_url(*, user: User) -> str:
    """A link that ends marketing emails for ``user`` without signing in (signed token)."""
    token = signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT, compress=True)
    return settings.SITE_URL + reverse("unsubscribe", args=[token])


def unsubscribe_user(*, token: str) -> User | None:
    """The member a token names, or ``None`` for a forged or damaged token."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=user_id).first()


@transaction.atomic
def marketing_unsubscribe(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(marketing_consent=False, marketing_consent_at=None)
    user.marketing_consent, user.marketing_consent_at = False, None


def marketing_headers(*, user: User) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe headers for marketing emails."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user=user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def welcome_email_send(*, user: User) -> None:
    email_send(user=user, template="welcome", context={"portal_url": settings.SITE_URL + "/"})
