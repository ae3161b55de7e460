from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "New.Member@Example.com",
    "first_name": "Nina",
    "last_name": "Park",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "accept_terms": "on",
    "marketing_consent": "on",
}


def _confirmation_link(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_verify_then_login(client) -> None:
    response = client.post(reverse("account_signup"), SIGNUP)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get()
    assert (user.email, user.first_name, user.language) == ("new.member@example.com", "Nina", "en")
    assert user.marketing_consent
    assert user.marketing_consent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.member@example.com"]

    # Before confirming, the password alone does not let the member in.
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    link = _confirmation_link(mail.outbox[-1])
    assert client.get(link).status_code == 200
    response = client.post(link)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    client.logout()
    response = client.post(
        reverse("account_login"),
        {"login": "NEW.member@example.com", "password": SIGNUP["password1"]},
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_requires_accepting_terms(client) -> None:
    data = {**SIGNUP, "accept_terms": ""}
    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    assert "accept_terms" in response.context["form"].errors
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_signup_records_the_page_language(client) -> None:
    client.cookies["django_language"] = "fa"
    client.post(reverse("account_signup"), {**SIGNUP, "marketing_consent": ""})

    user = User.objects.get()
    assert user.language == "fa"
    assert (user.marketing_consent, user.marketing_consent_at) == (False, None)


def test_signup_page_uses_crispy_bootstrap_markup(client) -> None:
    response = client.get(reverse("account_signup"))

    html = response.content.decode()
    assert 'class="textinput form-control"' in html
    assert 'name="accept_terms"' in html
    assert 'id="div_id_email"' in html


def test_wrong_passwords_are_rate_limited(client) -> None:
    user = UserFactory(email="target@example.com")
    url = reverse("account_login")
    for _ in range(5):
        response = client.post(url, {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    response = client.post(url, {"login": user.email, "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_login_with_right_password_succeeds(client) -> None:
    user = UserFactory(email="fine@example.com")
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_password_reset_does_not_reveal_unknown_addresses(client) -> None:
    UserFactory(email="known@example.com")
    url = reverse("account_reset_password")

    known = client.post(url, {"email": "known@example.com"})
    unknown = client.post(url, {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert sorted(m.to[0] for m in mail.outbox) == ["known@example.com", "nobody@example.com"]
