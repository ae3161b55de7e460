from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

# One phrase per language from the landing page, so a missing catalogue shows up here.
HEADLINES = {
    "en": "Shop, earn points, enjoy rewards.",
    "fa": "خرید کنید، امتیاز بگیرید، از جایزه‌ها لذت ببرید.",
    "ar": "تسوّق، اكسب النقاط، واستمتع بالمكافآت.",
    "ru": "Покупайте, копите баллы, получайте награды.",
}


@pytest.mark.parametrize(
    ("language", "direction"), [("en", "ltr"), ("fa", "rtl"), ("ar", "rtl"), ("ru", "ltr")]
)
def test_landing_page_in_each_language(client, language: str, direction: str) -> None:
    client.cookies["django_language"] = language

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert HEADLINES[language] in html
    rtl_css = "bootstrap.rtl.min.css" in html
    assert rtl_css is (direction == "rtl")


def test_landing_page_explains_the_published_rules(client, settings) -> None:
    settings.POINTS_EXPIRY_DAYS = 180
    settings.RETURN_WINDOW_DAYS = 7

    html = client.get(reverse("home")).content.decode()

    assert "Points expire 180 days after you earn them." in html
    assert "pending for 7 days" in html
    for anchor in ('id="how-it-works"', 'id="tiers"', 'id="rewards"', 'id="referrals"'):
        assert anchor in html
    assert reverse("terms") in html


def test_terms_page_renders_in_persian(client) -> None:
    client.cookies["django_language"] = "fa"
    response = client.get(reverse("terms"))

    assert response.status_code == 200
    assert 'dir="rtl"' in response.content.decode()


def test_language_switch_sets_cookie_and_remembers_member_choice(client) -> None:
    user = UserFactory(language="en")
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "ru", "next": "/terms/"})

    assert response.status_code == 302
    assert response["Location"] == "/terms/"
    assert response.cookies["django_language"].value == "ru"
    assert User.objects.get(pk=user.pk).language == "ru"


def test_signed_in_member_sees_saved_language_without_cookie(client) -> None:
    client.force_login(UserFactory(language="ar"))

    html = client.get(reverse("home")).content.decode()

    assert '<html lang="ar" dir="rtl">' in html


def test_unknown_language_is_ignored(client) -> None:
    user = UserFactory(language="en")
    client.force_login(user)

    client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    assert User.objects.get(pk=user.pk).language == "en"


def test_landing_page_shows_the_real_tiers_and_purchase_rule(client) -> None:
    from decimal import Decimal

    from tests.loyalty.factories import EarningRuleFactory, TierFactory

    EarningRuleFactory(points_per_unit=Decimal("2.00"), currency="EUR")
    TierFactory(name="Bronze", rank=0, threshold=0)
    TierFactory(name="Gold", rank=2, threshold=1500, multiplier=Decimal("1.25"))

    html = client.get(reverse("home")).content.decode()

    assert "Spend 50 EUR at the shop and earn 100 points." in html
    assert "Everyone starts here" in html
    assert "From 1500 qualifying points" in html
    assert "× 1.25 points on purchases" in html
    assert "Tiers will be announced soon." not in html
