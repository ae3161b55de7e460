"""A sweep of the security checks worth a test each (OWASP ASVS): object-level
authorization on every member-owned URL, the admin closed to members, clickjacking and
content-type headers. CSRF on every POST endpoint is swept in test_csrf.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loyalty.services.ledger import account_open, points_credit
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


def test_member_owned_urls_are_not_reachable_by_another_member(client, member) -> None:
    reward = RewardFactory(points_cost=10)
    theirs = reward_redeem(account=member.loyalty_account, reward=reward, idempotency_key="mine")
    intruder = UserFactory()
    account_open(member=intruder)
    client.force_login(intruder)

    assert client.get(reverse("portal:voucher", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("portal:voucher_cancel", args=[theirs.pk])).status_code == 404
    assert theirs.voucher.code not in client.get(reverse("portal:vouchers")).content.decode()
    exported = client.post(reverse("portal:export"))  # the download itself
    assert exported["Content-Disposition"].startswith("attachment")
    assert intruder.email in exported.content.decode()
    assert theirs.voucher.code not in exported.content.decode()
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
