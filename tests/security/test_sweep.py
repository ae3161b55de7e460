"""A sweep of the security checks worth a test each (OWASP ASVS): CSRF on every form,
object-level authorization on every member-owned URL, the admin closed to members,
clickjacking and content-type headers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from loyalty.services.ledger import account_open, points_credit
from referrals.codes import referral_code_for
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    user = UserFactory()
    points_credit(
        account=account_open(member=user), points=1000, kind="earn", idempotency_key=f"f{user.pk}"
    )
    return user


@pytest.fixture
def strict(member) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    return client


def member_forms(member) -> list[tuple[str, dict]]:
    reward = RewardFactory(points_cost=10)
    redemption = reward_redeem(account=member.loyalty_account, reward=reward, idempotency_key="r")
    return [
        (reverse("portal:redeem", args=[reward.pk]), {"key": "k"}),
        (reverse("portal:voucher_cancel", args=[redemption.pk]), {}),
        (reverse("portal:profile"), {"first_name": "x", "language": "en"}),
        (reverse("portal:delete"), {"confirm": "DELETE"}),
        (reverse("referrals_refer"), {"emails": "a@example.com", "message": "hi"}),
        (reverse("set_language"), {"language": "fa", "next": "/"}),
        (reverse("account_logout"), {}),
        (reverse("account_change_password"), {}),
        (reverse("admin:logout"), {}),
    ]


def test_every_member_form_refuses_a_post_without_csrf_token(strict, member) -> None:
    for url, data in member_forms(member):
        assert strict.post(url, data).status_code == 403, url
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_anonymous_forms_need_csrf_too(name) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(reverse(name), {"login": "x", "email": "x@example.com"}).status_code == 403


def test_referral_landing_form_posts_with_a_token(member) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("referral_landing", args=[referral_code_for(member=member).code]))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_member_owned_urls_are_not_reachable_by_another_member(client, member) -> None:
    reward = RewardFactory(points_cost=10)
    theirs = reward_redeem(account=member.loyalty_account, reward=reward, idempotency_key="mine")
    intruder = UserFactory()
    account_open(member=intruder)
    client.force_login(intruder)

    assert client.get(reverse("portal:voucher", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("portal:voucher_cancel", args=[theirs.pk])).status_code == 404
    assert theirs.voucher.code not in client.get(reverse("portal:vouchers")).content.decode()
    assert theirs.voucher.code not in client.get(reverse("portal:export")).content.decode()
    assert member.email not in client.get(reverse("portal:dashboard")).content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/loyalty/entry/",
        "/admin/accounts/user/",
        "/admin/emails/",
        "/admin/loyalty/account/1/adjust/",
    ],
)
def test_admin_is_closed_to_members(client, member, path) -> None:
    client.force_login(member)

    response = client.get(path)

    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/me/", "/api/v1/rewards/", "/healthz"])
def test_pages_cannot_be_framed_or_sniffed(client, member, path) -> None:
    client.force_login(member)

    response = client.get(path)

    assert response["X-Content-Type-Options"] == "nosniff"
    if path != "/healthz":  # JSON for load balancers, not a page
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
