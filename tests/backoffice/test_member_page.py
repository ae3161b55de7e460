from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.services import user_consent_apply
from config.backoffice.member import member_360
from loyalty.models import EntryKind, MemberSegment
from loyalty.services.ledger import account_open, points_credit
from referrals.models import Referral, ReferralCode, ReferralStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.backoffice.factories import EventFactory
from tests.conftest import NOW
from tests.loyalty.factories import TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def support(client) -> User:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    return user


def _refer(referrer: User, referee: User, status: str = ReferralStatus.PENDING) -> Referral:
    code, _created = ReferralCode.objects.get_or_create(
        member=referrer, defaults={"code": f"CODE-{referrer.pk}"}
    )
    return Referral.objects.create(
        referrer=referrer,
        referee=referee,
        code=code,
        source="link",
        status=status,
        qualify_by=NOW + timedelta(days=60),
        referrer_points=200 if status == ReferralStatus.REWARDED else 0,
    )


def member_with_history(size: int) -> User:
    """A member with ``size`` of everything: credits, events, redemptions, referrals."""
    member = UserFactory(email=f"m{size}@example.com", first_name="Mina", last_name="Rad")
    account = account_open(member=member)
    account.tier = TierFactory(name=f"Gold {size}", rank=10 + size)
    account.save()
    for i in range(size):
        points_credit(
            account=account, points=300, kind=EntryKind.EARN, idempotency_key=f"{size}-{i}"
        )
        EventFactory(account=account, amount=12)
        reward_redeem(
            account=account, reward=RewardFactory(points_cost=100), idempotency_key=f"r{size}-{i}"
        )
        _refer(member, UserFactory(), ReferralStatus.REWARDED)
    _refer(UserFactory(email=f"friend{size}@example.com"), member)
    return member


def test_support_sees_everything_about_a_member(client) -> None:
    member = member_with_history(2)
    user_consent_apply(user=member, consent=True)
    member.save()
    MemberSegment.objects.create(
        account=member.loyalty_account, recency=5, frequency=4, monetary=3, label="champions",
        last_purchase_at=NOW, purchases=2, spend=24, computed_at=NOW,
    )  # fmt: skip
    support(client)

    page = client.get(reverse("member_360", args=[member.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    for text in (
        "Mina Rad",
        "m2@example.com",
        "allowed since",  # marketing consent
        "<td>400</td>",  # available: 2 × 300 − 2 × 100
        "Gold 2",
        "Champions (R5 F4 M3)",
        "100 / 300",  # the lots: both redemptions took from the first
        "300 / 300",
        "Redeemed",  # history
        "12.00 EUR",  # events
        "Referred by friend2@example.com (Signed up)",
        "sign-ups: 2 · qualified: 0 · rewarded: 2 (400 points)",
        "Adjust points",
    ):
        assert text in html, text
    redemption = member.loyalty_account.redemptions.first()
    assert redemption.voucher.code in html


def test_the_member_page_takes_the_same_queries_however_long_the_history() -> None:
    short, long = member_with_history(1), member_with_history(30)

    with CaptureQueriesContext(connection) as few:
        page = member_360(member_id=short.pk)
    with CaptureQueriesContext(connection) as many:
        big = member_360(member_id=long.pk)

    assert len(few) == len(many) <= 16
    assert (len(page.ledger.redemptions), len(big.ledger.redemptions)) == (1, 30)
    assert (len(page.referrals.made), len(big.referrals.made)) == (1, 30)


def test_a_member_without_points_account(client) -> None:
    member = UserFactory()
    support(client)

    page = client.get(reverse("member_360", args=[member.pk]))

    assert page.status_code == 200
    assert "No points account yet." in page.content.decode()


def test_the_user_admin_page_links_to_the_member_page(client) -> None:
    member = member_with_history(1)
    support(client)

    page = client.get(reverse("admin:accounts_user_change", args=[member.pk]))

    assert reverse("member_360", args=[member.pk]) in page.content.decode()
    assert client.get(reverse("member_360", args=[999_999])).status_code == 404
