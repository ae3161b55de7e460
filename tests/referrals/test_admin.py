"""The review queue in the admin: staff act on flagged referrals through changelist actions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from loyalty.models import Entry
from loyalty.services.ledger import account_open
from referrals.codes import referral_code_for
from referrals.models import Referral, ReferralStatus
from referrals.services import program_settings, referral_attach, referral_qualify
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:referrals_referral_changelist"


@pytest.fixture(autouse=True)
def _program(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    program_settings()


@pytest.fixture
def referrer() -> User:
    user = UserFactory(first_name="Rita")
    account_open(member=user)
    return user


def flagged(referrer: User, email: str) -> Referral:
    friend = UserFactory(email=email)
    account_open(member=friend)
    referral = referral_attach(
        referee=friend, code=referral_code_for(member=referrer).code, source="link"
    )
    assert (referral.status, referral.flags[0]["rule"]) == (
        ReferralStatus.REVIEW,
        "disposable_email",
    )
    return referral


def test_support_rejects_a_flagged_referral_from_the_changelist(client, referrer) -> None:
    target = flagged(referrer, "temp@mailinator.com")
    other = flagged(referrer, "other@mailinator.com")
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Support"))
    client.force_login(staff)

    queue = client.get(reverse(CHANGELIST), {"status__exact": "review"})
    response = client.post(
        reverse(CHANGELIST), {"action": "reject", "_selected_action": [target.pk]}, follow=True
    )
    referral_qualify(referee_id=target.referee_id, trigger="purchase", amount=Decimal("80"))

    assert 'value="reject"' in queue.content.decode()
    assert "disposable_email" in queue.content.decode()
    assert [str(m) for m in response.context["messages"]] == ["Rejected."]
    target.refresh_from_db()
    assert (target.status, target.reason, target.reviewed_by) == (
        ReferralStatus.REJECTED,
        "rejected in review",
        staff,
    )
    assert target.reviewed_at is not None
    assert target.qualified_at is None
    assert Referral.objects.get(pk=other.pk).status == ReferralStatus.REVIEW
    assert Entry.objects.count() == 0


def test_staff_without_the_review_permission_cannot_reject(client, referrer) -> None:
    target = flagged(referrer, "temp@mailinator.com")
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_referral"))
    client.force_login(viewer)

    page = client.get(reverse(CHANGELIST))
    client.post(reverse(CHANGELIST), {"action": "reject", "_selected_action": [target.pk]})

    assert page.status_code == 200
    assert 'value="reject"' not in page.content.decode()
    target.refresh_from_db()
    assert (target.status, target.reviewed_by, target.reason) == (ReferralStatus.REVIEW, None, "")
