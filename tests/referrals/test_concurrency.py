"""Real threads on separate PostgreSQL connections racing for one member's invites."""

from __future__ import annotations

import pytest

from referrals.codes import referral_code_for
from referrals.models import Invite
from referrals.services import InviteReport, ReferralRefused, invites_send, program_settings
from tests.accounts.factories import UserFactory
from tests.loyalty.test_ledger_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_invites_never_exceed_the_daily_limit() -> None:
    program = program_settings()
    program.invite_daily_limit = 3
    program.save()
    referrer = UserFactory()
    referral_code_for(member=referrer)

    results = race(
        12,
        lambda i: invites_send(referrer=referrer, emails=[f"friend{i}@example.com"], message=""),
    )

    sent = [r for r in results if isinstance(r, InviteReport)]
    refused = [r for r in results if isinstance(r, ReferralRefused)]
    assert (len(sent), len(refused)) == (3, 9)
    assert {r.code for r in refused} == {"invite_limit"}
    assert Invite.objects.filter(referrer=referrer).count() == 3


def test_concurrent_batches_are_refused_whole_once_the_limit_is_near() -> None:
    program = program_settings()
    program.invite_daily_limit = 5
    program.save()
    referrer = UserFactory()
    referral_code_for(member=referrer)

    results = race(
        6,
        lambda i: invites_send(
            referrer=referrer, emails=[f"a{i}@example.com", f"b{i}@example.com"], message=""
        ),
    )

    assert sum(isinstance(r, InviteReport) for r in results) == 2
    assert sum(isinstance(r, ReferralRefused) for r in results) == 4
    assert Invite.objects.filter(referrer=referrer).count() == 4


def test_concurrent_invites_to_members_count_toward_the_limit_too() -> None:
    program = program_settings()
    program.invite_daily_limit = 3
    program.save()
    referrer = UserFactory()
    referral_code_for(member=referrer)
    members = [UserFactory(email=f"member{i}@example.com").email for i in range(6)]

    results = race(
        12,
        lambda i: invites_send(
            referrer=referrer,
            emails=[members[i % 6] if i % 2 else f"new{i}@example.com"],
            message="",
        ),
    )

    accepted = [r for r in results if isinstance(r, InviteReport)]
    refused = [r for r in results if isinstance(r, ReferralRefused)]
    assert (len(accepted), len(refused)) == (3, 9)
    assert Invite.objects.filter(referrer=referrer).count() == 3
