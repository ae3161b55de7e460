"""Program time: stored in UTC, date-only values read in the program's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def program_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def end_of_day(day: date) -> datetime:
    """The instant a date-only expiry takes effect: the next midnight in the program's zone.

    Points "valid through 31 March" are spendable all of 31 March, local time, and expire
    at 00:00 on 1 April there, whatever the UTC offset or daylight saving change.
    """
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=program_zone())


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment, program_zone()).date()


def rolling_expiry(*, earned_at: datetime, days: int | None = None) -> datetime:
    """Default expiry: the end of the day, ``POINTS_EXPIRY_DAYS`` after the points were earned."""
    days = settings.POINTS_EXPIRY_DAYS if days is None else days
    return end_of_day(local_date(earned_at) + timedelta(days=days))


def last_valid_day(expires_at: datetime) -> date:
    """The last local date on which points expiring at ``expires_at`` can still be spent."""
    return local_date(expires_at - timedelta(microseconds=1))


def parse_as_of(value: str) -> datetime:
    """Read an operator's ``--as-of``: an ISO date-time (naive = program time zone) or a
    date alone, which means the start of that day in the program's time zone."""
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO date or date-time: {value!r}") from exc
    if len(value) == 10:  # YYYY-MM-DD
        return datetime.combine(moment.date(), time.min, tzinfo=program_zone())
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=program_zone())
    return moment
