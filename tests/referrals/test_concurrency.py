"""Real threads on separate PostgreSQL connections racing for one member's invites, and a
refund racing the release job for a referral's rewards."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.utils import timezone

from loyalty.models import Account, Entry, EntryKind, EventType
from loyalty.services.earning import EventInput, event_record
from loyalty.services.expiry import pending_release
from loyalty.services.ledger import account_open
from loyalty.verification import ledger_offences
from referrals.codes import referral_code_for
from referrals.models import Invite, Referral, ReferralStatus
from referrals.services import (
    InviteReport,
    ReferralRefused,
    invites_send,
    program_settings,
    referral_attach,
)
from tests.accounts.factories import UserFactory
from tests.loyalty.factories import EarningRuleFactory
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


def _rewarded_friend(program_round: int) -> tuple[Referral, Account, Account]:
    referrer, friend = UserFactory(), UserFactory()
    referrer_account, friend_account = account_open(member=referrer), account_open(member=friend)
    referral_attach(referee=friend, code=referral_code_for(member=referrer).code, source="code")
    event_record(data=_event(friend_account, EventType.PURCHASE, f"p-{program_round}"))
    return Referral.objects.get(referee=friend), referrer_account, friend_account


def _event(account: Account, type_: str, key: str) -> EventInput:
    return EventInput(
        idempotency_key=key,
        type=type_,
        account=account,
        occurred_at=timezone.now(),
        amount=Decimal("50.00"),
        currency="EUR",
        order_id=f"order-{account.pk}",
    )


def _refund_or_release(i: int, *, friend: Account, key: str, pause: float) -> object:
    """Thread 0: the shop's full refund (the referral reacts in the same thread, after
    commit). Thread 1: the release job, started ``pause`` seconds later."""
    if i == 0:
        return event_record(data=_event(friend, EventType.REFUND, key))
    time.sleep(pause)  # later rounds let the refund get further first
    return pending_release(as_of=timezone.now() + timedelta(days=15))


def test_refund_racing_the_release_job_reverses_each_reward_once(settings) -> None:
    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1.00"))
    program = program_settings()
    program.referrer_points, program.referee_points = 200, 100
    program.min_purchase_amount, program.rewards_pending = Decimal("20"), True
    program.save()

    for round_, pause in enumerate((0, 0.08, 0.11, 0.14, 0.17, 0.3)):
        referral, referrer, friend = _rewarded_friend(round_)
        assert referral.status == ReferralStatus.REWARDED

        job = partial(_refund_or_release, friend=friend, key=f"r-{round_}", pause=pause)
        results = race(2, job)

        assert not [r for r in results if isinstance(r, Exception)]
        referral.refresh_from_db()
        assert referral.status == ReferralStatus.REVERSED
        assert referral.reversals == 1
        undone = Entry.objects.filter(kind=EntryKind.REVERSAL, source=f"referral:{referral.pk}")
        # Released then clawed back, or cancelled while pending: both sides the same way.
        shape = sorted((e.points, e.pending_points) for e in undone)
        assert shape in ([(-200, 0), (-100, 0)], [(0, -200), (0, -100)])
        for account in (referrer, friend):
            account.refresh_from_db()
            assert (account.balance, account.pending) == (0, 0)
    assert ledger_offences() == []


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
