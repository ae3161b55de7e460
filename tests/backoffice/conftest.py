"""A small club with a hand-written history from January to June 2026 (program time zone
UTC), built with the real ledger services with the clock at each moment. The numbers the
analytics must report for it are worked out by hand in test_analytics.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from loyalty.models import (
    Account,
    CampaignParticipation,
    CampaignStatus,
    EntryKind,
    MemberSegment,
)
from loyalty.services.expiry import pending_release, points_expire
from loyalty.services.ledger import (
    credit_reverse,
    debit_restore,
    points_adjust,
    points_credit,
    points_debit,
)
from referrals.models import Invite, Referral, ReferralClick, ReferralCode, ReferralStatus
from tests.accounts.factories import UserFactory
from tests.backoffice.factories import EventFactory
from tests.conftest import NOW
from tests.loyalty.factories import AccountFactory, CampaignFactory, TierFactory


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _member(name: str, joined: datetime, tier=None) -> Account:
    user = UserFactory(email=f"{name}@example.com", date_joined=joined)
    return AccountFactory(member=user, tier=tier)


def _segment(account: Account, label: str) -> None:
    MemberSegment.objects.create(
        account=account,
        recency=5,
        frequency=5,
        monetary=5,
        label=label,
        last_purchase_at=NOW,
        purchases=3,
        spend=Decimal(100),
        computed_at=NOW,
    )


def _ledger(clock, m: SimpleNamespace) -> None:
    def now(month: int, day: int) -> None:
        clock.move_to(at(month, day))

    credit = {"kind": EntryKind.EARN}
    now(1, 20)
    points_credit(account=m.fay, points=40, idempotency_key="f1", expires_at=at(4, 30, 0), **credit)
    now(2, 15)
    points_credit(
        account=m.ann, points=500, idempotency_key="a1", expires_at=at(3, 20, 0), **credit
    )
    now(2, 25)
    points_credit(
        account=m.gus, points=60, idempotency_key="g1", available_at=at(3, 15, 0), **credit
    )
    now(3, 6)
    ben_earn = points_credit(
        account=m.ben, points=300, idempotency_key="b1", available_at=at(3, 20, 0), **credit
    )
    now(3, 10)
    points_debit(account=m.ann, points=200, idempotency_key="a2")
    now(3, 21)
    points_expire()  # ann's 300 left expire, dated 20 March
    pending_release()  # gus's 60 and ben's 300 become available, dated 15 and 20 March
    now(4, 5)
    points_credit(account=m.ann, points=100, idempotency_key="a3", **credit)
    now(4, 10)
    redeemed = points_debit(account=m.ben, points=100, idempotency_key="b2")
    now(4, 11)
    debit_restore(debit=redeemed, idempotency_key="b3")
    now(4, 21)
    points_credit(account=m.cat, points=80, kind=EntryKind.BONUS, idempotency_key="c1")
    now(5, 1)
    points_expire()  # fay's 40 expire, dated 30 April
    now(5, 2)
    points_credit(account=m.dan, points=150, kind=EntryKind.REFERRAL, idempotency_key="d1")
    now(5, 3)
    credit_reverse(credit=ben_earn, points=50, idempotency_key="b4")
    now(5, 15)
    points_adjust(account=m.cat, points=-30, reason="x", staff_user=m.staff, idempotency_key="c2")
    now(5, 16)
    points_adjust(account=m.cat, points=20, reason="y", staff_user=m.staff, idempotency_key="c3")
    clock.move_to(NOW)
    points_credit(
        account=m.eve,
        points=10,
        idempotency_key="e1",
        available_at=NOW + timedelta(days=14),
        **credit,
    )


def _referrals(clock, m: SimpleNamespace) -> None:
    codes = {
        name: ReferralCode.objects.create(member=getattr(m, name).member, code=f"{name.upper()}-1")
        for name in ("ann", "ben")
    }
    clock.move_to(at(2, 20))
    ReferralClick.objects.create(code=codes["ann"], ip_hash="x")  # before the period
    clock.move_to(at(3, 2))
    for _ in range(10):
        ReferralClick.objects.create(code=codes["ann"], ip_hash="x")
    for _ in range(2):
        ReferralClick.objects.create(code=codes["ben"], ip_hash="y")
    invites = [
        Invite.objects.create(referrer=m.ann.member, email=f"f{i}@example.com", sent_at=at(3, 2))
        for i in range(3)
    ]

    def refer(referrer: str, referee: str, when: datetime, **fields) -> None:
        clock.move_to(when)
        Referral.objects.create(
            referrer=getattr(m, referrer).member,
            referee=getattr(m, referee).member,
            code=codes[referrer],
            source="link",
            qualify_by=when + timedelta(days=60),
            **fields,
        )

    refer("ann", "ben", at(3, 5), status=ReferralStatus.REWARDED, qualified_at=at(3, 6),
          rewarded_at=at(3, 20), referrer_points=200, referee_points=100)  # fmt: skip
    refer("ann", "cat", at(4, 20), invite=invites[0])
    refer("ben", "dan", at(5, 2), status=ReferralStatus.QUALIFIED, qualified_at=at(5, 3))
    refer("ann", "eve", NOW)  # after the period


def _campaigns(m: SimpleNamespace) -> None:
    spring = CampaignFactory(
        name="Spring double",
        status=CampaignStatus.ENDED,
        starts_at=at(4, 1, 0),
        ends_at=at(5, 1, 0),
    )
    CampaignParticipation.objects.create(campaign=spring, account=m.ann, points=40, events=1)
    CampaignParticipation.objects.create(campaign=spring, account=m.cat, points=80, events=2)
    june = CampaignFactory(
        name="June days", status=CampaignStatus.ACTIVE, starts_at=at(5, 20, 0), ends_at=at(6, 20, 0)
    )
    CampaignFactory(name="Draft idea", status=CampaignStatus.DRAFT, starts_at=at(4, 1, 0))
    purchases = [
        (m.ann, at(3, 1, 23), 999),  # before both "before" windows
        (m.ann, at(3, 3), 40),  # spring: the 30 days before
        (m.ben, at(4, 2), 20),  # spring: during
        (m.cat, at(4, 15), 30),
        (m.ann, at(4, 30), 50),
        (m.dan, at(5, 7, 0), 7),  # june: just before its "before" window (7 May 12:00)
        (m.dan, at(5, 10), 10),  # june: before
        (m.ben, at(5, 25), 60),  # june: during (up to now)
    ]
    for account, when, amount in purchases:
        EventFactory(account=account, occurred_at=when, amount=amount)
    assert june.pk


@pytest.fixture
def club(clock, settings) -> SimpleNamespace:
    settings.TIME_ZONE = "UTC"
    settings.POINT_VALUE = Decimal("0.05")
    bronze = TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=1000)
    m = SimpleNamespace(
        ann=_member("ann", at(1, 10), silver),
        ben=_member("ben", at(3, 5), bronze),
        cat=_member("cat", at(4, 20), bronze),
        dan=_member("dan", at(5, 2)),
        eve=_member("eve", NOW),
        fay=_member("fay", at(1, 5)),
        gus=_member("gus", at(2, 1)),
        staff=UserFactory(email="staff@example.com", is_staff=True, date_joined=at(1, 1)),
    )
    _ledger(clock, m)
    _referrals(clock, m)
    clock.move_to(NOW)
    _campaigns(m)
    _segment(m.ann, "champions")
    _segment(m.ben, "loyal")
    return m
