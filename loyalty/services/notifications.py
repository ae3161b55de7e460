"""Scheduled jobs that tell members things: points expiring soon, birthdays, campaign
announcements, tier upgrades after pending points were released.

Each is idempotent and resumable. Work is selected with set-based queries in bounded
batches, recorded in a send log with a unique key (one reminder per member and expiry
date, one announcement per member and campaign, one birthday email per birthday event,
logged with its points), and each email is its own Celery task, queued after commit, that
claims its log row before sending and confirms it after (``loyalty.models.emails``). A
second run sends nothing; a run after a crash queues again what was lost, including
claims whose sender died before confirming."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import partial

from celery import Task
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from loyalty.emails import announcement_email_send, expiry_reminder_email_send
from loyalty.models import (
    AnnouncementDelivery,
    Campaign,
    CampaignStatus,
    EventType,
    ExpiryReminder,
    Lot,
    SendLogQuerySet,
    SentEmail,
)
from loyalty.selectors import campaign_audience
from loyalty.services.campaigns import campaigns_due_status
from loyalty.services.earning import EventInput, event_record_once
from loyalty.services.email_log import email_once
from loyalty.services.ledger import account_for_member
from loyalty.tasks import (
    announcement_email_task,
    birthday_email_task,
    expiry_reminder_email_task,
)
from loyalty.timing import last_valid_day, local_date

BATCH = 1000
# Birthday emails not sent within this long after the points are dropped, not re-queued.
BIRTHDAY_EMAIL_WINDOW = timedelta(days=2)


# --- queueing --------------------------------------------------------------------------------


def _enqueue(task: Task, args: list[int]) -> None:
    for arg in args:
        task.delay(arg)


def _queue(rows: QuerySet, *, task: Task, arg: str = "pk", size: int = BATCH) -> int:
    """Enqueue ``task`` for every row, after commit, walking the rows by id in batches
    (``arg``: the field passed to the task)."""
    fields = ("pk",) if arg == "pk" else ("pk", arg)
    queued, last = 0, 0
    while batch := list(rows.filter(pk__gt=last).order_by("pk").values_list(*fields)[:size]):
        transaction.on_commit(partial(_enqueue, task, [int(row[-1]) for row in batch]))
        queued += len(batch)
        last = batch[-1][0]
    return queued


# --- points expiring soon ------------------------------------------------------------------


def _account_ranges(lots: QuerySet, *, size: int) -> Iterator[tuple[int, int]]:
    """``(after, upto]`` ranges of account ids holding ``size`` accounts of ``lots`` each."""
    after = 0
    accounts = lots.order_by("account_id").values_list("account_id", flat=True).distinct()
    while ids := list(accounts.filter(account_id__gt=after)[:size]):
        yield after, ids[-1]
        after = ids[-1]


def _reminders_create(lots: QuerySet, *, after: int, upto: int) -> None:
    """Log the reminders of the accounts in ``(after, upto]``: one per member and date."""
    rows = lots.filter(account_id__gt=after, account_id__lte=upto)
    sums = rows.values("account_id", "expires_at").annotate(points=Sum("remaining")).order_by()
    due: dict[tuple[int, date], int] = defaultdict(int)
    for row in sums:
        due[(row["account_id"], last_valid_day(row["expires_at"]))] += row["points"]
    ExpiryReminder.objects.bulk_create(
        [ExpiryReminder(account_id=a, expires_on=d, points=p) for (a, d), p in due.items()],
        ignore_conflicts=True,
    )


def expiry_reminders_send(
    *, as_of: datetime | None = None, days: int | None = None, batch_size: int = BATCH
) -> int:
    """Queue one reminder per member and expiry date for points expiring within ``days``
    (``EXPIRY_REMINDER_DAYS``), walking accounts in id ranges of ``batch_size``; a
    reminder is queued again only if it was lost or its sender died."""
    as_of = as_of or timezone.now()
    run_started = timezone.now()
    days = settings.EXPIRY_REMINDER_DAYS if days is None else days
    soon = Lot.objects.spendable(as_of=as_of).filter(expires_at__lte=as_of + timedelta(days=days))
    for after, upto in _account_ranges(soon, size=batch_size):
        _reminders_create(soon, after=after, upto=upto)
    current = ExpiryReminder.objects.filter(expires_on__gte=local_date(as_of))
    rows = current.to_queue(run_started=run_started, now=timezone.now())
    return _queue(rows, task=expiry_reminder_email_task, size=batch_size)


def expiry_reminder_email(*, reminder_id: int, token: str = "") -> bool:
    """Send one reminder unless it was sent or is being sent (claim, send, confirm)."""

    def send() -> bool:
        reminder = ExpiryReminder.objects.select_related("account__member").get(pk=reminder_id)
        return expiry_reminder_email_send(reminder=reminder)

    return email_once(rows=ExpiryReminder.objects.all(), pk=reminder_id, send=send, token=token)


# --- birthdays -----------------------------------------------------------------------------


def _birthday_members(today: date):
    days = [(today.month, today.day)]
    leap_day_skipped = today.month == 2 and today.day == 28 and not _is_leap(today.year)
    if leap_day_skipped:
        days.append((2, 29))  # members born on 29 February celebrate on the 28th
    members = User.objects.none()
    for month, day in days:
        members |= User.objects.filter(birthday__month=month, birthday__day=day, is_active=True)
    return members


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _birthday_award(member: User, *, year: int, as_of: datetime) -> bool:
    """Award one member's birthday points and log the birthday email in one transaction:
    either both exist or neither does, so a crash before the email is queued loses nothing."""
    with transaction.atomic():
        outcome = event_record_once(
            data=EventInput(
                idempotency_key=f"birthday:{member.pk}:{year}",
                type=EventType.BIRTHDAY,
                account=account_for_member(member=member),
                occurred_at=as_of,
            )
        )
        event = outcome.event
        if outcome.replayed or event.points_awarded <= 0:
            return False
        SentEmail.objects.create(template="birthday", key=str(event.pk), recipient=member)
        transaction.on_commit(partial(birthday_email_task.delay, event.pk))
    return True


def _birthday_emails_lost(*, run_started: datetime) -> SendLogQuerySet:
    """Recent birthday emails of earlier runs never sent: not queued (a crash after the
    points were committed) or claimed by a sender that died."""
    recent = SentEmail.objects.filter(
        template="birthday",
        created_at__lt=run_started,
        created_at__gte=run_started - BIRTHDAY_EMAIL_WINDOW,
    )
    return recent.claimable(now=timezone.now())


def birthday_bonuses_award(*, as_of: datetime | None = None) -> int:
    """Award the birthday rule's points to members whose birthday is today (program time);
    once per member and year, whatever the number of runs. Each run also re-queues the
    birthday emails of earlier runs that were lost."""
    as_of = as_of or timezone.now()
    run_started = timezone.now()
    today = local_date(as_of)
    members = _birthday_members(today).iterator(chunk_size=500)
    awarded = sum(_birthday_award(m, year=today.year, as_of=as_of) for m in members)
    _queue(_birthday_emails_lost(run_started=run_started), task=birthday_email_task, arg="key")
    return awarded


# --- campaigns -------------------------------------------------------------------------------


def _deliveries_create(campaign: Campaign, *, size: int = BATCH) -> int:
    """Log the announcement for every member of the campaign's audience without one,
    walking members by id in batches; returns how many were logged."""
    delivered = AnnouncementDelivery.objects.filter(campaign=campaign).values("member_id")
    members = (
        campaign_audience(campaign=campaign)
        .exclude(pk__in=delivered)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    logged, last = 0, 0
    while ids := list(members.filter(pk__gt=last)[:size]):
        AnnouncementDelivery.objects.bulk_create(
            [AnnouncementDelivery(campaign=campaign, member_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        logged += len(ids)
        last = ids[-1]
    return logged


def _announce(campaign: Campaign) -> int:
    """Log and queue the announcement for every member of its audience not yet logged; queue
    again the ones that were lost or whose sender died."""
    run_started = timezone.now()
    logged = _deliveries_create(campaign)
    deliveries = AnnouncementDelivery.objects.filter(campaign=campaign)
    rows = deliveries.to_queue(run_started=run_started, now=timezone.now())
    _queue(rows, task=announcement_email_task)
    return logged


def campaigns_run(*, as_of: datetime | None = None) -> dict[str, int]:
    """Start and end campaigns by their dates, and announce the ones that started."""
    as_of = as_of or timezone.now()
    result = campaigns_due_status(at=as_of)
    live = Campaign.objects.filter(
        status=CampaignStatus.ACTIVE, announce=True, starts_at__lte=as_of, ends_at__gt=as_of
    )
    Campaign.objects.filter(pk__in=live.filter(announced_at__isnull=True)).update(
        announced_at=as_of
    )
    result["announced"] = sum(_announce(c) for c in live)
    return result


def campaign_announcing(campaign: Campaign, *, at: datetime) -> bool:
    """Is ``campaign`` one the announcement goes out for at ``at`` (live, announce on)?"""
    live = campaign.status == CampaignStatus.ACTIVE and campaign.starts_at <= at < campaign.ends_at
    return campaign.announce and live


@transaction.atomic
def campaign_announce_now(*, campaign: Campaign, as_of: datetime | None = None) -> int:
    """Staff's "announce now": what the job would do on its next run, at once. The same send
    log, so nobody is told twice; returns how many members were newly logged."""
    as_of = as_of or timezone.now()
    if not campaign_announcing(campaign, at=as_of):
        return 0
    Campaign.objects.filter(pk=campaign.pk, announced_at__isnull=True).update(announced_at=as_of)
    return _announce(campaign)


def announcement_email(*, delivery_id: int, token: str = "") -> bool:
    """Send one announcement unless it was sent or is being sent (claim, send, confirm)."""

    def send() -> bool:
        delivery = AnnouncementDelivery.objects.select_related("campaign", "member").get(
            pk=delivery_id
        )
        return announcement_email_send(delivery=delivery)

    return email_once(
        rows=AnnouncementDelivery.objects.all(), pk=delivery_id, send=send, token=token
    )
