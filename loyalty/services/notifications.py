"""Scheduled jobs that tell members things: points expiring soon, birthdays, campaign
announcements, tier upgrades after pending points were released.

Each is idempotent and resumable. Work is selected with set-based queries, recorded in a
send log with a unique key (one reminder per member and expiry date, one announcement per
member and campaign, one birthday bonus per member and year), and each email is its own
Celery task that claims its log row before sending, so a crash or a second run never
sends a second copy."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from loyalty.models import (
    AnnouncementDelivery,
    Campaign,
    CampaignStatus,
    EventType,
    ExpiryReminder,
    Lot,
)
from loyalty.services.campaigns import campaigns_due_status
from loyalty.services.earning import EventInput, event_record_once
from loyalty.services.ledger import account_for_member
from loyalty.tasks import (
    announcement_email_task,
    birthday_email_task,
    expiry_reminder_email_task,
)
from loyalty.timing import last_valid_day, local_date

BATCH = 1000
# An email queued this long ago and still unsent was lost (a crash, a purged queue):
# queue it again. Fresh ones are queued once, by the run that created them.
STALE = timedelta(hours=1)


def _to_queue(unsent, *, run_started: datetime):
    """Log rows to enqueue now: the ones this run created, and stale leftovers."""
    return unsent.filter(Q(created_at__gte=run_started) | Q(created_at__lt=run_started - STALE))


# --- points expiring soon ------------------------------------------------------------------


def _due_reminders(as_of: datetime, days: int) -> dict[tuple[int, date], int]:
    soon = Lot.objects.spendable(as_of=as_of).filter(expires_at__lte=as_of + timedelta(days=days))
    rows = soon.values("account_id", "expires_at").annotate(points=Sum("remaining")).order_by()
    due: dict[tuple[int, date], int] = defaultdict(int)
    for row in rows.iterator(chunk_size=2000):
        due[(row["account_id"], last_valid_day(row["expires_at"]))] += row["points"]
    return due


def expiry_reminders_send(*, as_of: datetime | None = None, days: int | None = None) -> int:
    """Queue one reminder per member and expiry date for points expiring within ``days``
    (``EXPIRY_REMINDER_DAYS``); reminders already queued are never queued again."""
    as_of = as_of or timezone.now()
    run_started = timezone.now()
    days = settings.EXPIRY_REMINDER_DAYS if days is None else days
    due = list(_due_reminders(as_of, days).items())
    for start in range(0, len(due), BATCH):
        chunk = due[start : start + BATCH]
        ExpiryReminder.objects.bulk_create(
            [ExpiryReminder(account_id=a, expires_on=d, points=p) for (a, d), p in chunk],
            ignore_conflicts=True,
        )
    unsent = ExpiryReminder.objects.filter(sent_at__isnull=True, expires_on__gte=local_date(as_of))
    ids = list(_to_queue(unsent, run_started=run_started).values_list("pk", flat=True))
    for reminder_id in ids:
        expiry_reminder_email_task.delay(reminder_id)
    return len(ids)


def expiry_reminder_claim(*, reminder_id: int) -> ExpiryReminder | None:
    """Mark a reminder sent if nobody did; the caller sends the email only if it got one."""
    claimed = ExpiryReminder.objects.filter(pk=reminder_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if claimed != 1:
        return None
    return ExpiryReminder.objects.select_related("account__member").get(pk=reminder_id)


def expiry_reminder_unclaim(*, reminder_id: int) -> None:
    ExpiryReminder.objects.filter(pk=reminder_id).update(sent_at=None)


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


def birthday_bonuses_award(*, as_of: datetime | None = None) -> int:
    """Award the birthday rule's points to members whose birthday is today (program time);
    once per member and year, whatever the number of runs."""
    as_of = as_of or timezone.now()
    today = local_date(as_of)
    awarded = 0
    for member in _birthday_members(today).iterator(chunk_size=500):
        outcome = event_record_once(
            data=EventInput(
                idempotency_key=f"birthday:{member.pk}:{today.year}",
                type=EventType.BIRTHDAY,
                account=account_for_member(member=member),
                occurred_at=as_of,
            )
        )
        if not outcome.replayed and outcome.event.points_awarded > 0:
            awarded += 1
            birthday_email_task.delay(outcome.event.pk)
    return awarded


# --- campaigns -------------------------------------------------------------------------------


def _consenting_without_delivery(campaign: Campaign):
    delivered = AnnouncementDelivery.objects.filter(campaign=campaign).values("member_id")
    return (
        User.objects.filter(is_active=True, marketing_consent=True)
        .exclude(pk__in=delivered)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _announce(campaign: Campaign) -> int:
    """Queue the announcement for every consenting member not yet queued, in batches."""
    run_started = timezone.now()
    queued = 0
    while ids := list(_consenting_without_delivery(campaign)[:BATCH]):
        AnnouncementDelivery.objects.bulk_create(
            [AnnouncementDelivery(campaign=campaign, member_id=pk) for pk in ids],
            ignore_conflicts=True,
        )
        queued += len(ids)
    unsent = AnnouncementDelivery.objects.filter(campaign=campaign, sent_at__isnull=True)
    pending = _to_queue(unsent, run_started=run_started).values_list("pk", flat=True)
    for delivery_id in pending.iterator(chunk_size=BATCH):
        announcement_email_task.delay(delivery_id)
    return queued


def campaigns_run(*, as_of: datetime | None = None) -> dict[str, int]:
    """Start and end campaigns by their dates, and announce the ones that started."""
    as_of = as_of or timezone.now()
    result = campaigns_due_status(at=as_of)
    live = Campaign.objects.filter(
        status=CampaignStatus.ACTIVE, announce=True, starts_at__lte=as_of
    )
    Campaign.objects.filter(pk__in=live.filter(announced_at__isnull=True)).update(
        announced_at=as_of
    )
    result["announced"] = sum(_announce(c) for c in live)
    return result


def announcement_claim(*, delivery_id: int) -> AnnouncementDelivery | None:
    claimed = AnnouncementDelivery.objects.filter(pk=delivery_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if claimed != 1:
        return None
    return AnnouncementDelivery.objects.select_related("campaign", "member").get(pk=delivery_id)


def announcement_unclaim(*, delivery_id: int) -> None:
    AnnouncementDelivery.objects.filter(pk=delivery_id).update(sent_at=None)
