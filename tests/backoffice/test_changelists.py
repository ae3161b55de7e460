"""No N+1 on any admin list: every registered ModelAdmin's changelist runs the same number
of queries with one row as with thirty, each row with its own related objects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.sites.models import Site
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from loyalty.models import EarningRule, EntryKind, EventType, MemberSegment
from loyalty.services.apikeys import api_key_create
from loyalty.services.ledger import account_open, points_adjust, points_credit
from referrals.models import Invite, ProgramSettings, Referral, ReferralCode
from rewards.services import reward_redeem
from tests.accounts.factories import UserFactory
from tests.backoffice.factories import EventFactory
from tests.loyalty.factories import AccountFactory, CampaignFactory, TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = pytest.mark.django_db

ROWS = 30
serial = count(1)


def _staff_entry() -> None:
    account = account_open(member=UserFactory())
    staff = UserFactory(is_staff=True)
    n = next(serial)
    points_adjust(account=account, points=5, reason="x", staff_user=staff, idempotency_key=f"e{n}")


def _account() -> None:
    account = AccountFactory(tier=TierFactory(rank=100 + next(serial)))
    MemberSegment.objects.create(
        account=account, recency=1, frequency=1, monetary=1, label="new",
        last_purchase_at=timezone.now(), purchases=1, spend=1, computed_at=timezone.now(),
    )  # fmt: skip


def _redemption() -> None:
    account = account_open(member=UserFactory())
    n = next(serial)
    points_credit(account=account, points=100, kind=EntryKind.EARN, idempotency_key=f"r{n}")
    reward_redeem(account=account, reward=RewardFactory(points_cost=50), idempotency_key=f"d{n}")


def _referral() -> None:
    referrer, referee = UserFactory(), UserFactory()
    code = ReferralCode.objects.create(member=referrer, code=f"CODE-{next(serial)}")
    Referral.objects.create(
        referrer=referrer,
        referee=referee,
        code=code,
        source="link",
        qualify_by=timezone.now() + timedelta(days=30),
        flags=[{"rule": "velocity", "evidence": "x"}],
    )


def _periodic_task() -> None:
    n = next(serial)
    crontab = CrontabSchedule.objects.create(minute=str(n % 60), hour=str(n % 24))
    interval = IntervalSchedule.objects.create(every=n, period="minutes")
    schedule = {"crontab": crontab} if n % 2 else {"interval": interval}
    PeriodicTask.objects.create(name=f"task {n}", task="config.tasks.x", **schedule)


def _campaign() -> None:
    campaign = CampaignFactory()
    campaign.tiers.add(TierFactory(rank=300 + next(serial)))


MAKERS: dict[str, Callable[[], object]] = {
    "auth.Group": lambda: Group.objects.create(name=f"group {next(serial)}"),
    "sites.Site": lambda: Site.objects.create(domain=f"s{next(serial)}.example", name="s"),
    "account.EmailAddress": lambda: UserFactory(),
    "django_celery_beat.PeriodicTask": _periodic_task,
    "django_celery_beat.ClockedSchedule": lambda: ClockedSchedule.objects.create(
        clocked_time=timezone.now() + timedelta(hours=next(serial))
    ),
    "django_celery_beat.CrontabSchedule": lambda: CrontabSchedule.objects.create(
        minute=str(next(serial) % 60)
    ),
    "django_celery_beat.SolarSchedule": lambda: SolarSchedule.objects.create(
        event="sunrise", latitude=Decimal(next(serial) % 80), longitude=Decimal(10)
    ),
    "django_celery_beat.IntervalSchedule": lambda: IntervalSchedule.objects.create(
        every=next(serial), period="seconds"
    ),
    "accounts.User": lambda: UserFactory(),
    "loyalty.Account": _account,
    "loyalty.Entry": _staff_entry,
    "loyalty.Lot": _staff_entry,
    "loyalty.EarningRule": lambda: EarningRule.objects.create(
        name="r", event_type=EventType.CUSTOM, code=f"c{next(serial)}", points=5
    ),
    "loyalty.Tier": lambda: TierFactory(rank=400 + next(serial)),
    "loyalty.Campaign": _campaign,
    "loyalty.ApiKey": lambda: api_key_create(name="shop", created_by=UserFactory()),
    "loyalty.Event": lambda: EventFactory(),
    "loyalty.MemberSegment": _account,
    "rewards.Reward": lambda: RewardFactory(min_tier=TierFactory(rank=500 + next(serial))),
    "rewards.Redemption": _redemption,
    "rewards.Voucher": _redemption,
    # one row by design (a check constraint): the list can never grow
    "referrals.ProgramSettings": lambda: ProgramSettings.objects.get_or_create(pk=1),
    "referrals.ReferralCode": lambda: ReferralCode.objects.create(
        member=UserFactory(), code=f"CODE-{next(serial)}"
    ),
    "referrals.Referral": _referral,
    "referrals.Invite": lambda: Invite.objects.create(
        referrer=UserFactory(), email=f"f{next(serial)}@example.com"
    ),
}
LINKS = {"config.Analytics"}  # no table: its list entry leads to the analytics page
REGISTERED = sorted(m._meta.label for m in admin.site._registry if m._meta.label not in LINKS)


def test_every_registered_admin_has_a_row_maker() -> None:
    assert sorted(MAKERS) == REGISTERED
    assert {m._meta.label for m in admin.site._registry} > LINKS


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("label", REGISTERED)
def test_changelist_queries_do_not_grow_with_rows(client, label: str) -> None:
    model = next(m for m in admin.site._registry if m._meta.label == label)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    MAKERS[label]()
    one = _queries(client, url)
    for _ in range(ROWS - 1):
        MAKERS[label]()

    assert _queries(client, url) == one
