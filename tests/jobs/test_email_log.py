"""Every email goes out once: run twice, retried after a failure, or re-run after its
worker died between claiming the email and confirming it (the crash is played by an email
backend that raises ``WorkerKilled``, which no ``except Exception`` catches)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from smtplib import SMTPException
from typing import ClassVar

import pytest
from celery import Task
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tasks import member_set_password_email_task, welcome_email_task
from loyalty.models import (
    EMAIL_CLAIM_LEASE,
    AnnouncementDelivery,
    CampaignStatus,
    EventType,
    ExpiryReminder,
    SentEmail,
    TierChange,
)
from loyalty.services.earning import EventInput, event_record, event_record_once
from loyalty.services.ledger import account_open, points_credit
from loyalty.services.notifications import expiry_reminders_send
from loyalty.tasks import (
    announcement_email_task,
    birthday_bonuses_task,
    birthday_email_task,
    campaigns_run_task,
    expiry_reminders_task,
    points_earned_email_task,
    tier_change_email_task,
)
from loyalty.timing import end_of_day
from referrals.codes import referral_code_for
from referrals.models import Referral, ReferralStatus
from referrals.tasks import referral_rewarded_email_task
from rewards.services import reward_redeem
from rewards.tasks import redemption_email_task
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import CampaignFactory, EarningRuleFactory, TierFactory
from tests.rewards.factories import RewardFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

ROOT = Path(__file__).resolve().parents[2]
LEASE_OVER = EMAIL_CLAIM_LEASE + timedelta(minutes=1)


class WorkerKilled(BaseException):
    """The worker process dies: nothing after this runs, not even ``except Exception``."""


class FaultyBackend(EmailBackend):
    """The test outbox, except that each send first takes the next planned fault
    (``None``: send normally)."""

    faults: ClassVar[list[BaseException | None]] = []

    def send_messages(self, messages):
        if FaultyBackend.faults and (fault := FaultyBackend.faults.pop(0)) is not None:
            raise fault
        return super().send_messages(messages)


@pytest.fixture
def faults(settings) -> Iterator[list[BaseException | None]]:
    settings.EMAIL_BACKEND = f"{__name__}.FaultyBackend"
    FaultyBackend.faults = []
    yield FaultyBackend.faults
    FaultyBackend.faults = []


@pytest.fixture
def member(settings) -> User:
    settings.TIME_ZONE = "UTC"
    user = UserFactory(email="sara@example.com", first_name="Sara")
    account_open(member=user)
    return user


def recipients() -> list[str]:
    return [address for message in mail.outbox for address in message.to]


# --- running an email task twice sends once -------------------------------------------------


def _tier_change(member: User) -> tuple[Task, int]:
    change = TierChange.objects.create(
        account=member.loyalty_account,
        to_tier=TierFactory(name="Silver", rank=1, threshold=100),
        direction=TierChange.Direction.UP,
        qualifying_points=100,
    )
    return tier_change_email_task, change.pk


def _birthday(member: User) -> tuple[Task, int]:
    EarningRuleFactory(event_type=EventType.BIRTHDAY, points=200, points_per_unit=0)
    data = EventInput(
        idempotency_key="birthday",
        type=EventType.BIRTHDAY,
        account=member.loyalty_account,
        occurred_at=NOW,
    )
    return birthday_email_task, event_record_once(data=data).event.pk


def _points_earned(member: User) -> tuple[Task, int]:
    User.objects.filter(pk=member.pk).update(email_points_earned=True)
    EarningRuleFactory(points_per_unit=Decimal("1"))
    data = EventInput(
        idempotency_key="buy",
        type="purchase",
        account=member.loyalty_account,
        occurred_at=NOW,
        amount=Decimal("42"),
        currency="EUR",
        order_id="1042",
    )
    return points_earned_email_task, event_record(data=data).event.pk


def _redemption(member: User) -> tuple[Task, int]:
    account = member.loyalty_account
    points_credit(account=account, points=500, kind="earn", idempotency_key="fund")
    reward = RewardFactory(points_cost=100)
    return redemption_email_task, reward_redeem(
        account=account, reward=reward, idempotency_key="r1"
    ).pk


def _welcome(member: User) -> tuple[Task, int]:
    return welcome_email_task, member.pk


def _set_password(member: User) -> tuple[Task, int]:
    return member_set_password_email_task, member.pk


def _referral_rewarded(member: User) -> tuple[Task, int]:
    friend = UserFactory(email="omid@example.com", first_name="Omid")
    referral = Referral.objects.create(
        referrer=member,
        referee=friend,
        code=referral_code_for(member=member),
        source="link",
        status=ReferralStatus.REWARDED,
        qualify_by=NOW + timedelta(days=30),
        rewarded_at=NOW,
        referrer_points=200,
        referee_points=100,
    )
    return referral_rewarded_email_task, referral.pk


EMAILS: dict[str, tuple[Callable[[User], tuple[Task, int]], list[str]]] = {
    "tier change": (_tier_change, ["sara@example.com"]),
    "birthday": (_birthday, ["sara@example.com"]),
    "points earned": (_points_earned, ["sara@example.com"]),
    "redemption": (_redemption, ["sara@example.com"]),
    "welcome": (_welcome, ["sara@example.com"]),
    "set password": (_set_password, ["sara@example.com"]),
    "referral rewarded": (_referral_rewarded, ["sara@example.com", "omid@example.com"]),
}


@pytest.mark.parametrize("name", sorted(EMAILS))
def test_an_email_task_run_twice_sends_once(member, name: str) -> None:
    build, expected = EMAILS[name]
    task, object_id = build(member)
    mail.outbox.clear()

    task.delay(object_id)
    task.delay(object_id)

    assert recipients() == expected
    assert SentEmail.objects.filter(sent_at__isnull=False).count() == len(expected)


def test_a_retry_after_the_second_referral_email_failed_sends_only_the_second(
    member, faults
) -> None:
    task, referral_id = _referral_rewarded(member)
    faults.extend([None, SMTPException("452 try later")])  # referrer's goes, referee's fails

    with pytest.raises(Retry):
        task.apply(args=[referral_id], task_id="referral-email-1")
    task.apply(args=[referral_id], task_id="referral-email-1")  # the retry
    task.delay(referral_id)

    assert recipients() == ["sara@example.com", "omid@example.com"]
    templates = SentEmail.objects.filter(sent_at__isnull=False).values_list("template", flat=True)
    assert sorted(templates) == ["referral_rewarded_referee", "referral_rewarded_referrer"]


def test_a_failed_send_gives_its_claim_back(member, faults) -> None:
    task, change_id = _tier_change(member)
    faults.append(SMTPException("421 busy"))

    with pytest.raises(Retry):
        task.delay(change_id)
    failed = SentEmail.objects.values_list("claimed_at", "sent_at").get()
    task.delay(change_id)  # any sender may take it at once, not only the retry

    assert failed == (None, None)
    row = SentEmail.objects.get()
    assert (row.template, row.key, row.recipient_id) == ("tier_up", str(change_id), member.pk)
    assert recipients() == ["sara@example.com"]


# --- a worker killed between claiming and confirming ------------------------------------------


def test_the_same_task_delivered_again_after_its_worker_died_sends_at_once(
    member, faults, clock
) -> None:
    task, change_id = _tier_change(member)
    faults.append(WorkerKilled())

    with pytest.raises(WorkerKilled):
        task.apply(args=[change_id], task_id="tier-email-1")
    task.delay(change_id)  # another copy of the task: the dead sender's claim still holds
    held = recipients()
    task.apply(args=[change_id], task_id="tier-email-1")  # redelivered (acks_late)
    task.apply(args=[change_id], task_id="tier-email-1")
    clock.move_to(NOW + LEASE_OVER)
    task.delay(change_id)

    assert held == []
    assert recipients() == ["sara@example.com"]


def test_any_copy_of_the_task_sends_once_the_dead_senders_lease_is_over(
    member, faults, clock
) -> None:
    task, change_id = _tier_change(member)
    faults.append(WorkerKilled())
    with pytest.raises(WorkerKilled):
        task.delay(change_id)

    clock.move_to(NOW + LEASE_OVER)
    task.delay(change_id)
    task.delay(change_id)

    assert recipients() == ["sara@example.com"]


def test_a_reminder_whose_sender_died_is_sent_once_by_a_later_run(
    member, faults, clock, django_capture_on_commit_callbacks
) -> None:
    points_credit(
        account=member.loyalty_account,
        points=120,
        kind="earn",
        idempotency_key="soon",
        expires_at=end_of_day(date(2026, 6, 10)),
    )
    faults.append(WorkerKilled())
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        expiry_reminders_task.delay()

    with django_capture_on_commit_callbacks(execute=True):
        clock.move_to(NOW + timedelta(minutes=5))
        expiry_reminders_task.delay()  # the claim is young: its sender may still be at work
        held = recipients()
        clock.move_to(NOW + LEASE_OVER)
        expiry_reminders_task.delay()
        clock.move_to(NOW + timedelta(days=1))
        expiry_reminders_task.delay()

    assert held == []
    assert recipients() == ["sara@example.com"]
    assert mail.outbox[0].subject == "120 points expire on June 10, 2026"
    assert ExpiryReminder.objects.get().sent_at is not None


def test_an_announcement_whose_sender_died_is_sent_once_by_a_later_run(
    member, faults, clock, django_capture_on_commit_callbacks
) -> None:
    User.objects.filter(pk=member.pk).update(marketing_consent=True, marketing_consent_at=NOW)
    CampaignFactory(status=CampaignStatus.ACTIVE, starts_at=NOW - timedelta(hours=1))
    faults.append(WorkerKilled())
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        campaigns_run_task.delay()

    with django_capture_on_commit_callbacks(execute=True):
        clock.move_to(NOW + timedelta(minutes=10))
        campaigns_run_task.delay()
        held = recipients()
        clock.move_to(NOW + timedelta(minutes=20))
        campaigns_run_task.delay()
        clock.move_to(NOW + timedelta(minutes=30))
        campaigns_run_task.delay()

    assert held == []
    assert recipients() == ["sara@example.com"]
    assert AnnouncementDelivery.objects.get().sent_at is not None


@pytest.fixture
def birthday_today(member) -> User:
    EarningRuleFactory(event_type=EventType.BIRTHDAY, points=200, points_per_unit=0)
    User.objects.filter(pk=member.pk).update(birthday=date(1990, 6, 1))
    return member


def test_a_birthday_whose_worker_died_before_queueing_the_email_is_sent_by_a_rerun(
    birthday_today, monkeypatch, clock, django_capture_on_commit_callbacks
) -> None:
    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(birthday_email_task, "delay", killed)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        birthday_bonuses_task.delay()  # the points are committed, the email never queued
    monkeypatch.undo()

    with django_capture_on_commit_callbacks(execute=True):
        clock.move_to(NOW + timedelta(minutes=10))
        rerun = birthday_bonuses_task.delay().get()
        again = birthday_bonuses_task.delay().get()

    assert (rerun, again) == (0, 0)  # no second bonus
    assert [m.subject for m in mail.outbox] == ["Happy birthday, Sara!"]


def test_a_birthday_email_whose_sender_died_is_sent_once_by_a_later_run(
    birthday_today, faults, clock, django_capture_on_commit_callbacks
) -> None:
    faults.append(WorkerKilled())
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        birthday_bonuses_task.delay()

    with django_capture_on_commit_callbacks(execute=True):
        clock.move_to(NOW + timedelta(minutes=5))
        birthday_bonuses_task.delay()
        held = recipients()
        clock.move_to(NOW + LEASE_OVER)
        birthday_bonuses_task.delay()
        birthday_bonuses_task.delay()

    assert held == []
    assert [m.subject for m in mail.outbox] == ["Happy birthday, Sara!"]


# --- queued after commit ---------------------------------------------------------------------


def _reminder_due(member: User) -> Callable[[], object]:
    points_credit(
        account=member.loyalty_account,
        points=40,
        kind="earn",
        idempotency_key="soon",
        expires_at=end_of_day(date(2026, 6, 10)),
    )
    return expiry_reminders_task.delay


def _birthday_due(member: User) -> Callable[[], object]:
    EarningRuleFactory(event_type=EventType.BIRTHDAY, points=200, points_per_unit=0)
    User.objects.filter(pk=member.pk).update(birthday=date(1990, 6, 1))
    return birthday_bonuses_task.delay


def _campaign_due(member: User) -> Callable[[], object]:
    User.objects.filter(pk=member.pk).update(marketing_consent=True, marketing_consent_at=NOW)
    CampaignFactory(status=CampaignStatus.ACTIVE, starts_at=NOW - timedelta(hours=1))
    return campaigns_run_task.delay


@pytest.mark.parametrize("due", [_reminder_due, _birthday_due, _campaign_due])
def test_jobs_queue_their_emails_only_after_commit(
    member, due, django_capture_on_commit_callbacks
) -> None:
    run = due(member)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run()

    assert mail.outbox == []  # nothing was sent from inside the transaction
    for callback in callbacks:
        callback()
    assert recipients() == ["sara@example.com"]


# --- bounded batches ---------------------------------------------------------------------------


def test_reminders_are_logged_and_queued_in_bounded_batches_of_accounts(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.TIME_ZONE = "UTC"
    members = [UserFactory(email=f"m{i}@example.com") for i in range(5)]
    for i, user in enumerate(members):
        account = account_open(member=user)
        for n, day in enumerate((date(2026, 6, 5), date(2026, 6, 5), date(2026, 6, 9))):
            points_credit(
                account=account,
                points=10 * (i + 1),
                kind="earn",
                idempotency_key=f"{i}:{n}",
                expires_at=end_of_day(day) - timedelta(hours=n),
            )

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        queued = expiry_reminders_send(batch_size=2)

    sums = [q for q in queries.captured_queries if 'SUM("loyalty_lot"."remaining")' in q["sql"]]
    assert len(sums) == 3  # accounts 1-2, 3-4, 5: one aggregate per batch
    assert (queued, len(callbacks)) == (10, 5)  # 10 reminders, queued 2 at a time
    stored = ExpiryReminder.objects.order_by("account__member__email", "expires_on")
    assert [(r.account.member.email, r.expires_on, r.points) for r in stored] == [
        (f"m{i}@example.com", day, points)
        for i in range(5)
        for day, points in ((date(2026, 6, 5), 20 * (i + 1)), (date(2026, 6, 9), 10 * (i + 1)))
    ]
    assert len(mail.outbox) == 10


# --- the announcement throttle ----------------------------------------------------------------


def test_the_announcement_throttle_comes_from_the_settings() -> None:
    env = {**os.environ, "ANNOUNCEMENT_EMAIL_RATE_LIMIT": "300/m", "DEBUG": "1"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_VERSION", None)
    script = (
        "import django; django.setup(); "
        "from loyalty.tasks import announcement_email_task as t; print(t.rate_limit)"
    )
    shown = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert shown.stdout.strip() == "300/m"
    assert announcement_email_task.rate_limit == settings.ANNOUNCEMENT_EMAIL_RATE_LIMIT == "20/s"
