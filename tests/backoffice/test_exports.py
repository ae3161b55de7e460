"""CSV export (django-import-export) of members, entries, redemptions and referrals."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from accounts.models import User
from loyalty.models import EntryKind, MemberSegment
from loyalty.services.ledger import account_open, points_adjust, points_credit
from referrals.models import Referral, ReferralCode, ReferralStatus
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def staff_in(client, group: str) -> User:
    user = UserFactory(email=f"{group.lower()}@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def export(client, name: str, query: str = "") -> list[dict[str, str]]:
    response = client.post(reverse(f"admin:{name}_export") + query, {"format": "0"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def member() -> User:
    member = UserFactory(email="sara@example.com", first_name="Sara", last_name="Amini")
    account = account_open(member=member)
    account.tier = TierFactory(name="Gold", rank=3)
    account.save()
    MemberSegment.objects.create(
        account=account, recency=5, frequency=5, monetary=5, label="champions",
        last_purchase_at=NOW, purchases=1, spend=1, computed_at=NOW,
    )  # fmt: skip
    points_credit(account=account, points=500, kind=EntryKind.EARN, idempotency_key="e1")
    return member


def test_support_exports_members(client, member) -> None:
    staff_in(client, "Support")

    rows = export(client, "loyalty_account")

    assert len(rows) == 1
    row = rows[0]
    assert (row["email"], row["first_name"], row["last_name"]) == (
        "sara@example.com",
        "Sara",
        "Amini",
    )
    assert (row["balance"], row["pending"], row["tier"], row["segment"]) == (
        "500",
        "0",
        "Gold",
        "champions",
    )
    assert row["marketing_consent"] == "0"


def test_support_exports_entries_filtered_like_the_list(client, member) -> None:
    staff = staff_in(client, "Support")
    account = member.loyalty_account
    points_adjust(
        account=account, points=-20, reason="damaged", staff_user=staff, idempotency_key="a"
    )

    every = export(client, "loyalty_entry")
    adjustments = export(client, "loyalty_entry", f"?kind__exact={EntryKind.ADJUST}")

    assert [(r["kind"], r["points"], r["member_email"]) for r in every] == [
        ("adjust", "-20", "sara@example.com"),
        ("earn", "500", "sara@example.com"),
    ]
    assert [(r["points"], r["note"], r["recorded_by"]) for r in adjustments] == [
        ("-20", "damaged", "support@example.com")
    ]


def test_redemptions_and_referrals_export(client, member) -> None:
    redemption = reward_redeem(
        account=member.loyalty_account,
        reward=RewardFactory(name="Free coffee", points_cost=120),
        idempotency_key="r1",
    )
    friend = UserFactory(email="friend@example.com")
    Referral.objects.create(
        referrer=member,
        referee=friend,
        code=ReferralCode.objects.create(member=member, code="SARA-1"),
        source="invite",
        status=ReferralStatus.REWARDED,
        flags=[{"rule": "same_ip", "evidence": "x"}],
        qualify_by=NOW + timedelta(days=60),
        referrer_points=200,
    )
    staff_in(client, "Support")

    redemptions = export(client, "rewards_redemption")
    referrals = export(client, "referrals_referral")

    assert [
        (r["member_email"], r["reward"], r["points"], r["voucher_code"]) for r in redemptions
    ] == [("sara@example.com", "Free coffee", "120", redemption.voucher.code)]
    assert [
        (r["referrer_email"], r["referee_email"], r["code"], r["status"], r["fraud_checks"])
        for r in referrals
    ] == [("sara@example.com", "friend@example.com", "SARA-1", "rewarded", "same_ip")]


def test_export_takes_the_same_queries_for_3_or_30_rows(client, member) -> None:
    staff_in(client, "Support")
    account = member.loyalty_account
    for i in range(2):
        points_credit(account=account, points=1, kind=EntryKind.EARN, idempotency_key=f"few{i}")
    with CaptureQueriesContext(connection) as few:
        assert len(export(client, "loyalty_entry")) == 3
    for i in range(27):
        other = account_open(member=UserFactory())
        points_credit(account=other, points=1, kind=EntryKind.EARN, idempotency_key=f"many{i}")
    with CaptureQueriesContext(connection) as many:
        assert len(export(client, "loyalty_entry")) == 30

    assert len(few) == len(many)


def test_export_only_never_import(client, member) -> None:
    staff_in(client, "Marketing")

    with pytest.raises(NoReverseMatch):
        reverse("admin:loyalty_entry_import")
    response = client.post(reverse("admin:loyalty_entry_export"), {"format": "0"})
    assert response.status_code == 403  # Marketing may not see the ledger
