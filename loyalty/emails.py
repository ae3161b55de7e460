"""Emails of the loyalty app: what each says is in templates/emails/; here we gather the
facts and send. Each function takes ids, re-reads the truth and may decide not to send;
``token`` (the sending task's id) claims the email in its send log, so it goes out once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.emails import email_send
from accounts.services import marketing_headers, unsubscribe_url
from loyalty.models import AnnouncementDelivery, Event, ExpiryReminder, Lot, TierChange
from loyalty.selectors import points_pending_until
from loyalty.services.email_log import email_send_once
from loyalty.timing import end_of_day, last_valid_day

PORTAL = "/"


def _portal() -> str:
    return settings.SITE_URL + PORTAL


def expiry_reminder_email_send(*, reminder: ExpiryReminder) -> bool:
    """Tell the member what still expires on that day (nothing is sent if all was spent)."""
    account = reminder.account
    day = reminder.expires_on
    left = Lot.objects.spendable(as_of=timezone.now()).filter(
        account=account,
        expires_at__gt=end_of_day(day - timedelta(days=1)),
        expires_at__lte=end_of_day(day),
    )
    points = sum(left.values_list("remaining", flat=True))
    if points <= 0:
        return False
    context = {"points": points, "day": day, "balance": account.balance, "portal_url": _portal()}
    email_send(user=account.member, template="points_expiring", context=context)
    return True


def tier_change_email_send(*, change_id: int, token: str = "") -> None:
    change = (
        TierChange.objects.select_related("account__member", "to_tier", "from_tier")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        return
    template = "tier_up" if change.direction == TierChange.Direction.UP else "tier_down"
    email_send_once(
        user=change.account.member,
        template=template,
        key=change.pk,
        token=token,
        context={"tier": change.to_tier, "previous": change.from_tier, "portal_url": _portal()},
    )


def birthday_email_send(*, event_id: int, token: str = "") -> None:
    event = Event.objects.select_related("account__member").filter(pk=event_id).first()
    if event is None or event.points_awarded <= 0:
        return
    email_send_once(
        user=event.account.member,
        template="birthday",
        key=event.pk,
        token=token,
        context={"points": event.points_awarded, "portal_url": _portal()},
    )


def points_earned_email_send(*, event_id: int, token: str = "") -> None:
    event = Event.objects.select_related("account__member").filter(pk=event_id).first()
    if event is None or event.points_awarded <= 0 or not event.account.member.email_points_earned:
        return
    email_send_once(
        user=event.account.member,
        template="points_earned",
        key=event.pk,
        token=token,
        context={
            "event": event,
            "points": event.points_awarded,
            "pending": event.response.get("status") == "pending",
            "pending_until": points_pending_until(
                member_id=event.account.member_id, source=f"event:{event.pk}"
            ),
            "balance": event.response.get("balance"),
            "portal_url": _portal(),
        },
    )


def announcement_email_send(*, delivery: AnnouncementDelivery) -> bool:
    member, campaign = delivery.member, delivery.campaign
    if not member.marketing_consent or not member.is_active:
        return False
    email_send(
        user=member,
        template="campaign_announcement",
        context={
            "campaign": campaign,
            "ends_on": last_valid_day(campaign.ends_at),
            "portal_url": _portal(),
            "unsubscribe_url": unsubscribe_url(user=member),
        },
        headers=marketing_headers(user=member),
    )
    return True
