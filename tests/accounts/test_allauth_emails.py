"""allauth's emails (verification, password reset, notifications) arrive in the club's
layout: the club's name instead of "example.com", an HTML part in the member's language and
direction, a plain-text part without HTML entities, and links on SITE_URL. Each email is
produced by the real flow that sends it."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CLUB = "Fish & Chips Club"
SITE = "https://club.vafa.test"
EMAIL = "nina@mail.test"
NEW_PASSWORD = "a-long-unusual-passphrase"
SUBJECTS = {
    "en": {
        "confirm": "Please Confirm Your Email Address",
        "exists": "Account Already Exists",
        "reset_key": "Password Reset Email",
        "unknown": "Unknown Account",
        "changed": "Password Changed",
        "reset_done": "Password Reset",
    },
    "fa": {
        "confirm": "لطفا آدرس ایمیل خود را تایید کنید",
        "exists": "حساب کاربری از قبل وجود دارد",
        "reset_key": "رایانامه‌ی بازنشانی گذرواژه",
        "unknown": "حساب ناشناخته",
        "changed": "گذرواژه تغییر کرد",
        "reset_done": "بازنشانی گذرواژه",
    },
    "ar": {"confirm": "أكد عنوان البريد الإلكتروني"},
    "ru": {"confirm": "Пожалуйста, подтвердите Ваш адрес электронной почты"},
}
GREETING = {
    "en": f"Hello from {CLUB}!",
    "fa": f"سلام از طرف {CLUB}!",
    "ar": f"مرحبا من موقع {CLUB}!",
    "ru": f"Вас приветствует {CLUB}!",
}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture(autouse=True)
def _club(settings: pytest.FixtureRequest) -> None:
    settings.PROGRAM_NAME = CLUB
    settings.SITE_URL = SITE


def assert_branded(message: mail.EmailMessage, *, language: str, subject: str) -> None:
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert message.subject == f"{CLUB}: {SUBJECTS[language][subject]}"
    for part in (message.subject, message.body, html):
        assert "example.com" not in part
    # Plain text and subject are not HTML-escaped; the HTML part is.
    assert message.body.startswith(GREETING[language])
    assert ENTITY.findall(message.body) == []
    assert "<" not in message.body
    assert "Fish &amp; Chips Club" in html
    assert CLUB not in html
    direction = "rtl" if language in ("fa", "ar") else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    links = LINK.findall(message.body) + LINK.findall(html)
    assert links
    assert [link for link in links if link != SITE and not link.startswith(f"{SITE}/")] == []


def _signup(client, *, language: str) -> None:
    client.post(
        reverse("account_signup"),
        {
            "email": EMAIL,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "accept_terms": "on",
        },
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize("language", ["en", "fa", "ar", "ru"])
def test_signup_verification_email_is_branded(client, language: str) -> None:
    _signup(client, language=language)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAIL]
    assert_branded(message, language=language, subject="confirm")
    assert re.search(rf"{SITE}/accounts/confirm-email/\S+/", message.body)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_signup_with_an_existing_address_sends_a_branded_notice(client, language: str) -> None:
    UserFactory(email=EMAIL, language=language)

    _signup(client, language="ru")  # the member reads their own language, not the requester's

    assert User.objects.count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert_branded(message, language=language, subject="exists")
    assert f"{SITE}/accounts/password/reset/" in message.body


@pytest.mark.parametrize("language", ["en", "fa"])
def test_password_reset_email_is_branded(client, language: str) -> None:
    UserFactory(email=EMAIL, language=language)

    # asked from a browser in another language: the email follows the member's own
    client.post(reverse("account_reset_password"), {"email": EMAIL}, HTTP_ACCEPT_LANGUAGE="ar")

    assert len(mail.outbox) == 1
    assert_branded(mail.outbox[0], language=language, subject="reset_key")
    assert re.search(rf"{SITE}/accounts/password/reset/key/\S+/", mail.outbox[0].body)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_password_reset_for_an_unknown_address_is_branded(client, language: str) -> None:
    client.post(reverse("account_reset_password"), {"email": EMAIL}, HTTP_ACCEPT_LANGUAGE=language)

    assert len(mail.outbox) == 1
    assert_branded(mail.outbox[0], language=language, subject="unknown")
    assert f"{SITE}/accounts/signup/" in mail.outbox[0].body


@pytest.mark.parametrize("language", ["en", "fa"])
def test_password_change_notice_is_branded(client, language: str) -> None:
    user = UserFactory(email=EMAIL, language=language)
    client.force_login(user)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAIL]
    assert_branded(message, language=language, subject="changed")
    assert "127.0.0.1" in message.body


def test_completed_password_reset_sends_a_branded_notice(client) -> None:
    UserFactory(email=EMAIL)
    client.post(reverse("account_reset_password"), {"email": EMAIL})
    path = LINK.search(mail.outbox[0].body).group(0).removeprefix(SITE)
    form_url = client.get(path)["Location"]

    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert_branded(mail.outbox[1], language="en", subject="reset_done")
    assert User.objects.get().check_password(NEW_PASSWORD)
