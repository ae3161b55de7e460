"""Sign-ups from the landing page ``/r/<code>/``, with its form submitted as rendered."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.models import User
from loyalty.services.ledger import account_open
from referrals.codes import referral_code_for
from referrals.models import Attribution, Invite, Referral
from referrals.selectors import program_funnel
from referrals.services import invites_send, program_settings
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory

pytestmark = pytest.mark.django_db

# What the visitor types or ticks; every other field is posted as the page rendered it.
TYPED = {
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "accept_terms": "on",
}


class _SignupForm(HTMLParser):
    """The action and the fields of the page's sign-up form, with their rendered values."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "form" and attr.get("action") == self.action:
            self.inside = True
        elif self.inside and tag in ("input", "textarea") and attr.get("name"):
            if attr.get("type") in ("checkbox", "radio") and "checked" not in attr:
                return
            self.fields[attr["name"]] = attr.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def sign_up_from(client, path: str, email: str) -> dict[str, str]:
    """Open ``path``, fill in the sign-up form it shows and submit it; return the fields."""
    page = client.get(path)
    assert page.status_code == 200
    form = _SignupForm(reverse("account_signup"))
    form.feed(page.content.decode())
    assert "referral_code" in form.fields  # a code can still be typed on the page
    fields = {**form.fields, **TYPED, "email": email}
    response = client.post(reverse("account_signup"), fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    return form.fields


@pytest.fixture(autouse=True)
def _program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program_settings()


@pytest.fixture
def referrer() -> User:
    user = UserFactory(email="rita@example.com", first_name="Rita")
    account_open(member=user)
    return user


def test_sign_up_on_the_landing_page_counts_as_the_link(client, referrer) -> None:
    code = referral_code_for(member=referrer).code

    rendered = sign_up_from(client, f"/r/{code}/", "nina@example.com")

    referral = Referral.objects.get()
    assert rendered["referral_code"] == ""
    assert (referral.referrer, referral.referee.email) == (referrer, "nina@example.com")
    assert (referral.source, referral.invite) == ("link", None)


def test_sign_up_from_an_invite_link_is_linked_to_the_invite(client, referrer) -> None:
    invites_send(referrer=referrer, emails=["nina@example.com"], message="Join me")
    invite = Invite.objects.get()
    code = referral_code_for(member=referrer).code

    sign_up_from(client, f"/r/{code}/?i={invite.pk}", "nina@example.com")

    referral = Referral.objects.get()
    assert (referral.source, referral.invite) == ("invite", invite)
    assert program_funnel().invite_signups == 1


def test_first_click_is_honoured_on_the_later_landing_page(client) -> None:
    program = program_settings()
    program.attribution = Attribution.FIRST_CLICK
    program.save()
    first, second = UserFactory(first_name="first"), UserFactory(first_name="second")
    client.get(f"/r/{referral_code_for(member=first).code}/")

    sign_up_from(client, f"/r/{referral_code_for(member=second).code}/", "new@example.com")

    referral = Referral.objects.get()
    assert (referral.referrer, referral.source) == (first, "link")


def test_last_click_gives_the_later_landing_page(client) -> None:
    program = program_settings()
    program.attribution = Attribution.LAST_CLICK
    program.save()
    first, second = UserFactory(first_name="first"), UserFactory(first_name="second")
    client.get(f"/r/{referral_code_for(member=first).code}/")

    sign_up_from(client, f"/r/{referral_code_for(member=second).code}/", "new@example.com")

    assert Referral.objects.get().referrer == second


def test_typing_the_code_of_the_invite_link_keeps_the_invite(client, referrer) -> None:
    invites_send(referrer=referrer, emails=["nina@example.com"], message="")
    invite = Invite.objects.get()
    code = referral_code_for(member=referrer).code
    client.get(f"/r/{code}/?i={invite.pk}")

    client.post(
        reverse("account_signup"),
        {**TYPED, "email": "nina@example.com", "referral_code": code.lower()},
    )

    referral = Referral.objects.get()
    assert (referral.referrer, referral.source, referral.invite) == (referrer, "invite", invite)


def test_a_different_typed_code_wins_over_the_cookie(client, referrer) -> None:
    other = UserFactory()
    client.get(f"/r/{referral_code_for(member=referrer).code}/")

    client.post(
        reverse("account_signup"),
        {
            **TYPED,
            "email": "nina@example.com",
            "referral_code": referral_code_for(member=other).code,
        },
    )

    referral = Referral.objects.get()
    assert (referral.referrer, referral.source, referral.invite) == (other, "code", None)
