"""The program's referral numbers: every referred sign-up counts toward the K-factor."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from referrals.codes import referral_code_for
from referrals.models import Invite, ReferralClick
from referrals.selectors import program_funnel
from referrals.services import referral_attach
from tests.accounts.factories import UserFactory
from tests.conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def club(clock):
    """14 members; 8 of them joined through Rita's or Omid's link (4), code (2), invite (2).
    Invitations: 3 invite emails sent (one more, to a member, was never sent) and 7 people
    who opened a shared link (9 clicks), so 10 in all."""
    rita, omid = UserFactory(email="rita@example.com"), UserFactory(email="omid@example.com")
    codes = {"rita": referral_code_for(member=rita), "omid": referral_code_for(member=omid)}
    UserFactory.create_batch(4)  # members nobody referred
    UserFactory(is_staff=True)  # staff are not members of the program
    sent = timezone.now()
    invites = [Invite.objects.create(referrer=rita, email=f"i{n}@example.com") for n in range(3)]
    Invite.objects.filter(pk__in=[i.pk for i in invites]).update(sent_at=sent)
    Invite.objects.create(referrer=rita, email="omid@example.com")  # a member: never sent
    for n in range(7):
        ReferralClick.objects.create(code=codes["rita" if n < 5 else "omid"], ip_hash=f"ip{n}")
    ReferralClick.objects.create(code=codes["rita"], ip_hash="ip0")  # the same visitor again
    ReferralClick.objects.create(code=codes["rita"], ip_hash="ip9", invite=invites[0])
    ways = ["link"] * 4 + ["code"] * 2 + ["invite"] * 2
    for n, source in enumerate(ways):
        invite_id = invites[n - 6].pk if source == "invite" else None
        owner = "rita" if n % 2 == 0 else "omid"
        referral_attach(
            referee=UserFactory(email=f"friend{n}@example.com"),
            code=codes[owner].code if source != "invite" else codes["rita"].code,
            source=source,
            invite_id=invite_id,
        )


@pytest.mark.usefixtures("club")
def test_k_factor_counts_every_referred_signup() -> None:
    funnel = program_funnel()

    assert (funnel.members, funnel.signups, funnel.invite_signups) == (14, 8, 2)
    assert (funnel.invites, funnel.link_visitors, funnel.invitations) == (3, 7, 10)
    assert funnel.invitations_per_member == pytest.approx(10 / 14)
    assert funnel.invitation_conversion == pytest.approx(8 / 10)
    assert funnel.k_factor == pytest.approx(8 / 14)
    assert f"{funnel.k_factor:.3f}" == "0.571"


@pytest.mark.usefixtures("club")
def test_the_analytics_page_shows_k_and_both_factors(client) -> None:
    staff = UserFactory(is_staff=True)
    staff.groups.add(Group.objects.get(name="Marketing"))
    client.force_login(staff)

    today = {"first": NOW.date().isoformat(), "last": NOW.date().isoformat()}
    html = client.get(reverse("analytics"), today).content.decode()

    assert "<strong>0.571</strong>" in html
    assert "0.714 invitations per member × 0.800 sign-ups per invitation" in html
    assert "<tr><td>Invitations (invites sent + link visitors)</td><td>10</td></tr>" in html


def test_without_invitations_typed_codes_still_count() -> None:
    rita = UserFactory()
    code = referral_code_for(member=rita)
    referral_attach(referee=UserFactory(), code=code.code, source="code")

    funnel = program_funnel()

    assert (funnel.invitations, funnel.invitation_conversion) == (0, None)
    assert funnel.k_factor == pytest.approx(1 / 2)
