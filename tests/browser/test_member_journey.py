"""A member's journey in a real browser (Debian Chromium driven by Playwright) on a
390-pixel-wide screen: join through a friend's link, verify, redeem, copy the voucher, and
use the club in Persian, right to left, with nothing wider than the screen."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone, translation

from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from referrals.models import Referral, ReferralStatus
from rewards.models import Redemption
from tests.accounts.factories import PASSWORD, UserFactory
from tests.loyalty.factories import EarningRuleFactory, TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 390
PAGES = ["/me/", "/me/activity/", "/me/rewards/", "/me/vouchers/", "/me/profile/", "/refer/"]


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth") - WIDTH


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/me/")


def test_join_through_a_referral_link_and_verify(phone, shot) -> None:
    EarningRuleFactory(points_per_unit=Decimal("1"))
    TierFactory(name="Bronze", rank=0, threshold=0)
    rita = UserFactory(first_name="Rita")
    account_open(member=rita)
    code = referral_code_for(member=rita).code

    phone.goto(f"/r/{code}/")
    assert "Rita invited you" in phone.text_content("h1")
    shot(phone, "landing")
    phone.fill("input[name=email]", "nina@example.com")
    phone.fill("input[name=first_name]", "Nina")
    phone.fill("input[name=password1]", "a-long-unusual-passphrase")
    phone.fill("input[name=password2]", "a-long-unusual-passphrase")
    phone.check("input[name=accept_terms]")
    phone.click("main button[type=submit]")
    phone.wait_for_url("**/accounts/confirm-email/")
    link = re.search(
        r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body
    ).group(1)

    phone.goto(link)
    phone.click("main button[type=submit]")
    phone.wait_for_url("**/me/")

    assert "Hello Nina" in phone.text_content("h1")
    shot(phone, "dashboard")
    assert overflow(phone) <= 0
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee.email) == (rita, "nina@example.com")


def test_redeem_a_reward_and_copy_the_voucher(phone, shot) -> None:
    member = UserFactory(email="sara@example.com", first_name="Sara")
    points_credit(account=account_open(member=member), points=500, kind="earn", idempotency_key="f")
    reward = RewardFactory(
        name="Free coffee", points_cost=150, static_image="img/rewards/coffee.svg"
    )
    sign_in(phone, member.email)

    phone.goto(f"/me/rewards/{reward.pk}/")
    phone.click("text=Redeem")
    phone.wait_for_selector("[data-testid=confirm-redeem]")  # the htmx confirmation step
    assert "Spend 150 points on Free coffee?" in phone.text_content("#redeem-step")
    shot(phone, "confirm")
    phone.click("[data-testid=confirm-redeem]")
    phone.wait_for_selector("[data-testid=voucher-code]")
    code = phone.text_content("[data-testid=voucher-code]").strip()
    phone.click("text=Copy code")

    assert code == Redemption.objects.get().voucher.code
    assert phone.evaluate("navigator.clipboard.readText()") == code
    assert "Share the joy" in phone.content()
    shot(phone, "voucher")
    assert overflow(phone) <= 0


def test_persian_is_right_to_left_and_fits_a_phone(phone, shot) -> None:
    member = UserFactory(email="omid@example.com", first_name="Omid")
    points_credit(
        account=account_open(member=member), points=1234, kind="earn", idempotency_key="f"
    )
    RewardFactory(name="Free coffee", points_cost=150)
    sign_in(phone, member.email)

    phone.select_option("#language-select", "fa")
    assert phone.get_attribute("html", "lang") == "en"  # choosing alone changes nothing
    with phone.expect_navigation():
        phone.click("[data-testid=language-submit]")

    assert phone.get_attribute("html", "dir") == "rtl"
    assert phone.get_attribute("html", "lang") == "fa"
    assert "۱۲۳۴" in phone.text_content("[data-testid=balance]")  # Persian digits
    for path in PAGES:
        phone.goto(path)
        assert phone.get_attribute("html", "dir") == "rtl", path
        assert overflow(phone) <= 0, f"{path} is wider than the screen"
        shot(phone, path.strip("/").replace("/", "-") or "home")


def test_share_buttons_send_the_edited_message(phone, shot) -> None:
    member = UserFactory(email="lena@example.com", first_name="Lena")
    account_open(member=member)
    sign_in(phone, member.email)
    phone.goto("/refer/")
    link = phone.get_attribute("#share-message", "data-share-link")
    assert link in phone.input_value("#share-message")  # prefilled, with the personal link

    edited = f"Lena here: coffee on me if you join!\n{link}"
    phone.fill("#share-message", edited)

    whatsapp = phone.get_attribute("[data-share=whatsapp]", "href")
    telegram = parse_qs(urlsplit(phone.get_attribute("[data-share=telegram]", "href")).query)
    email = parse_qs(urlsplit(phone.get_attribute("[data-share=email]", "href")).query)
    assert whatsapp == "https://wa.me/?text=" + phone.evaluate("encodeURIComponent", edited)
    assert parse_qs(urlsplit(whatsapp).query)["text"] == [edited]
    assert telegram == {"url": [link], "text": ["Lena here: coffee on me if you join!"]}
    assert email["body"] == [edited]
    shot(phone, "refer-edited")
    assert overflow(phone) <= 0


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_referral_list_fits_a_phone_with_long_statuses(phone, shot, language) -> None:
    # given a member whose friend's referral was reversed (the longest status label) and
    # whose friend has a long address
    rita = UserFactory(email="rita@example.com", first_name="Rita")
    account_open(member=rita)
    code = referral_code_for(member=rita)
    friend = UserFactory(email="a.very.long.friend.address.for.testing@example.com")
    Referral.objects.create(
        referrer=rita,
        referee=friend,
        code=code,
        source="link",
        status=ReferralStatus.REVERSED,
        qualify_by=timezone.now() + timedelta(days=30),
    )
    sign_in(phone, "rita@example.com")
    if language != "en":
        phone.select_option("#language-select", language)
        with phone.expect_navigation():
            phone.click("[data-testid=language-submit]")

    # when she opens her referral page on a 390 px phone
    phone.goto("/refer/")
    assert phone.get_attribute("html", "lang") == language

    # then the status is shown and nothing pushes the page wider than the screen
    with translation.override(language):
        label = str(ReferralStatus.REVERSED.label)
    assert phone.locator(".badge", has_text=label).is_visible()
    shot(phone, f"refer-reversed-{language}")
    assert overflow(phone) <= 0
