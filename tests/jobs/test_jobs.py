from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from accounts.models import User
from config.jobs import SCHEDULE
from loyalty.models import (
    AnnouncementDelivery,
    CampaignKind,
    CampaignStatus,
    Entry,
    EntryKind,
    EventType,
    ExpiryReminder,
    TierChange,
)
from loyalty.services.ledger import account_open, points_credit, points_debit
from loyalty.tasks import (
    birthday_bonuses_task,
    campaigns_run_task,
    expiry_reminders_task,
    pending_release_task,
    points_expire_task,
    tiers_recompute_task,
)
from loyalty.timing import end_of_day
from tests.accounts.factories import UserFactory
from tests.conftest import NOW
from tests.loyalty.factories import CampaignFactory, EarningRuleFactory, TierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def member(settings) -> User:
    settings.TIME_ZONE = "UTC"
    user = UserFactory(email="sara@example.com", first_name="Sara")
    account_open(member=user)
    return user


def credit(member: User, points: int, key: str, **kwargs) -> Entry:
    return points_credit(
        account=member.loyalty_account, points=points, kind="earn", idempotency_key=key, **kwargs
    )


def test_beat_schedule_is_created_by_a_migration_from_the_job_list() -> None:
    stored = dict(
        PeriodicTask.objects.filter(name__startswith="vafa: ").values_list("name", "task")
    )

    assert stored == {f"vafa: {name}": job.task for name, job in SCHEDULE.items()}
    for task in PeriodicTask.objects.filter(name__startswith="vafa: "):
        job = SCHEDULE[task.name.removeprefix("vafa: ")]
        c = task.crontab
        fields = (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week)
        assert " ".join(fields) == job.crontab


def test_expire_task_twice_changes_nothing_the_second_time(member, clock) -> None:
    credit(member, 50, "c", expires_at=NOW + timedelta(days=1))
    clock.move_to(NOW + timedelta(days=2))

    first = points_expire_task.delay().get()
    second = points_expire_task.delay().get()

    assert (first["points"], second["points"]) == (50, 0)
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 1


def test_release_task_releases_and_upgrades_the_tier(
    member, clock, django_capture_on_commit_callbacks
) -> None:
    TierFactory(name="Bronze", rank=0, threshold=0)
    silver = TierFactory(name="Silver", rank=1, threshold=100)
    credit(member, 150, "buy", available_at=NOW + timedelta(days=14), qualifying=True)
    clock.move_to(NOW + timedelta(days=14, hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        result = pending_release_task.delay().get()
        again = pending_release_task.delay().get()

    member.loyalty_account.refresh_from_db()
    assert (result["points"], result["upgraded"], again["points"]) == (150, 1, 0)
    assert member.loyalty_account.tier == silver
    assert [m.subject for m in mail.outbox] == ["Welcome to Silver!"]


def test_tier_recompute_task_downgrades_and_emails(
    member, clock, settings, django_capture_on_commit_callbacks
) -> None:
    settings.RETURN_WINDOW_DAYS = 0
    TierFactory(name="Bronze", rank=0, threshold=0)
    TierFactory(name="Silver", rank=1, threshold=100, retention_days=30)
    credit(member, 150, "buy", qualifying=True)
    pending_release_task.delay().get()
    mail.outbox.clear()
    clock.move_to(NOW + timedelta(days=400))

    with django_capture_on_commit_callbacks(execute=True):
        result = tiers_recompute_task.delay().get()

    assert result["down"] == 1
    assert TierChange.objects.filter(direction="down").count() == 1
    assert [m.subject for m in mail.outbox] == ["Your tier is now Bronze"]


def test_expiry_reminder_is_sent_once_per_member_and_date(
    member, django_capture_on_commit_callbacks
) -> None:
    credit(member, 120, "soon", expires_at=end_of_day(date(2026, 6, 10)))
    credit(member, 30, "soon2", expires_at=end_of_day(date(2026, 6, 10)))
    credit(member, 80, "later", expires_at=end_of_day(date(2026, 12, 31)))

    with django_capture_on_commit_callbacks(execute=True):
        expiry_reminders_task.delay().get()
        expiry_reminders_task.delay().get()

    assert ExpiryReminder.objects.count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "150 points expire on June 10, 2026"
    assert "Your balance is 230 points" in message.body


def test_no_reminder_when_the_points_were_spent_meanwhile(
    member, django_capture_on_commit_callbacks
) -> None:
    credit(member, 40, "soon", expires_at=end_of_day(date(2026, 6, 10)))
    expiry_reminders_task.delay()  # logged; its email is queued after commit, never here
    points_debit(account=member.loyalty_account, points=40, idempotency_key="spent")

    with django_capture_on_commit_callbacks(execute=True):
        expiry_reminders_task.delay().get()

    assert mail.outbox == []


def test_birthday_bonus_once_per_year(member, clock, django_capture_on_commit_callbacks) -> None:
    EarningRuleFactory(event_type=EventType.BIRTHDAY, points=200, points_per_unit=0)
    User.objects.filter(pk=member.pk).update(birthday=date(1990, 6, 1))

    with django_capture_on_commit_callbacks(execute=True):
        first = birthday_bonuses_task.delay().get()
        again = birthday_bonuses_task.delay().get()
        clock.move_to(datetime(2027, 6, 1, 9, 0, tzinfo=UTC))
        next_year = birthday_bonuses_task.delay().get()

    assert (first, again, next_year) == (1, 0, 1)
    assert Entry.objects.filter(account__member=member, kind=EntryKind.EARN).count() == 2
    assert [m.subject for m in mail.outbox] == ["Happy birthday, Sara!"] * 2


def test_leap_day_birthdays_are_celebrated_on_28_february(member, clock) -> None:
    EarningRuleFactory(event_type=EventType.BIRTHDAY, points=200, points_per_unit=0)
    User.objects.filter(pk=member.pk).update(birthday=date(2000, 2, 29))
    clock.move_to(datetime(2027, 2, 28, 9, 0, tzinfo=UTC))

    assert birthday_bonuses_task.delay().get() == 1


def test_campaigns_start_end_and_are_announced_once_to_consenting_members(
    member, clock, django_capture_on_commit_callbacks
) -> None:
    User.objects.filter(pk=member.pk).update(marketing_consent=True, marketing_consent_at=NOW)
    UserFactory(email="quiet@example.com")  # no consent: never emailed
    campaign = CampaignFactory(
        name="Spring double points",
        status=CampaignStatus.SCHEDULED,
        kind=CampaignKind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=NOW + timedelta(hours=1),
        ends_at=NOW + timedelta(days=7),
    )

    with django_capture_on_commit_callbacks(execute=True):
        campaigns_run_task.delay().get()
        assert mail.outbox == []
        clock.move_to(NOW + timedelta(hours=2))
        started = campaigns_run_task.delay().get()
        again = campaigns_run_task.delay().get()

    campaign.refresh_from_db()
    assert (campaign.status, started["started"], again["started"]) == (CampaignStatus.ACTIVE, 1, 0)
    assert [m.to for m in mail.outbox] == [["sara@example.com"]]
    assert AnnouncementDelivery.objects.count() == 1
    headers = mail.outbox[0].extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<http://127\.0\.0\.1:8000/unsubscribe/[^>]+/>", headers["List-Unsubscribe"]
    )
    clock.move_to(NOW + timedelta(days=8))
    assert campaigns_run_task.delay().get()["ended"] == 1


def test_unsubscribe_link_from_a_campaign_email_works(
    client, member, clock, django_capture_on_commit_callbacks
) -> None:
    User.objects.filter(pk=member.pk).update(marketing_consent=True, marketing_consent_at=NOW)
    CampaignFactory(status=CampaignStatus.ACTIVE, starts_at=NOW - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        campaigns_run_task.delay().get()
    url = re.search(
        r"<http://127\.0\.0\.1:8000(/unsubscribe/[^>]+/)>",
        mail.outbox[0].extra_headers["List-Unsubscribe"],
    ).group(1)

    page = client.get(url)
    one_click = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert page.status_code == 200
    assert "Stop marketing emails?" in page.content.decode()
    assert one_click.status_code == 200
    assert not User.objects.get(pk=member.pk).marketing_consent
    assert client.get("/unsubscribe/forged-token/").status_code == 404


def test_points_earned_email_is_optional(
    member, settings, django_capture_on_commit_callbacks
) -> None:
    from loyalty.services.earning import EventInput, event_record

    settings.RETURN_WINDOW_DAYS = 14
    EarningRuleFactory(points_per_unit=Decimal("1"))

    def buy(key: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            event_record(
                data=EventInput(
                    idempotency_key=key,
                    type="purchase",
                    account=member.loyalty_account,
                    occurred_at=NOW,
                    amount=Decimal("42"),
                    currency="EUR",
                    order_id=key,
                )
            )

    buy("quiet")
    User.objects.filter(pk=member.pk).update(email_points_earned=True)
    member.loyalty_account.refresh_from_db()
    buy("1042")

    # pending for the 14-day return window: the email says so, and from which day
    assert [m.subject for m in mail.outbox] == [
        "42 points on their way, available on June 15, 2026"
    ]
    assert (
        "Your purchase 1042 will give you 42 points. The points are pending until the return "
        "window has passed and become available on June 15, 2026." in mail.outbox[0].body
    )


def test_run_job_command_backfills_with_as_of(member) -> None:
    credit(member, 25, "c", expires_at=end_of_day(date(2026, 6, 20)))
    out = StringIO()

    call_command("run_job", "expire_points", "--as-of", "2026-06-22", stdout=out)

    assert "expire_points:" in out.getvalue()
    assert Entry.objects.filter(kind=EntryKind.EXPIRE).count() == 1
