"""Emails of the referral program."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from accounts.emails import absolute_url, email_render
from accounts.managers import email_canonical
from accounts.models import User
from loyalty.selectors import points_pending_until
from loyalty.services.email_log import email_send_once
from referrals.codes import referral_code_for
from referrals.models import Invite, Referral, ReferralStatus
from referrals.selectors import referral_link


def _is_member(email: str) -> bool:
    return User.objects.filter(email_canonical=email_canonical(email)).exists()


def invite_email_send(*, invite_id: int) -> None:
    """Send one invite (once: a re-run after success sends nothing)."""
    invite = (
        Invite.objects.select_related("referrer").filter(pk=invite_id, sent_at__isnull=True).first()
    )
    if invite is None or _is_member(invite.email):
        return  # members are never invited (and the inviter is not told who is one)
    referrer = invite.referrer
    context = {
        "referrer": referrer,
        "message": invite.message,
        "link": referral_link(code=referral_code_for(member=referrer), invite_id=invite.pk),
    }
    rendered = email_render(template="invite", context=context, language=referrer.language)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invite.email],
        reply_to=[referrer.email],
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send()
    Invite.objects.filter(pk=invite.pk, sent_at__isnull=True).update(sent_at=timezone.now())


def _rewarded_context(referral: Referral, *, member: User, friend: User) -> dict[str, Any]:
    """What one side is told: how the friend came (link, code, invite), the points, and
    when they become available if they are pending."""
    return {
        "referral": referral,
        "friend": friend.first_name or "",
        "how": referral.source,
        "pending_until": points_pending_until(
            member_id=member.pk, source=f"referral:{referral.pk}"
        ),
        "portal_url": absolute_url(reverse("home")),
    }


def referral_rewarded_emails_send(*, referral_id: int, token: str = "") -> None:
    """Tell both sides what they earned; each email is logged on its own, so a retry after
    the second failed does not send the first again. Nothing goes out for a referral that
    is no longer rewarded (its purchase was refunded); one qualified again after that is
    a new round with emails of its own."""
    rewarded = Referral.objects.filter(pk=referral_id, status=ReferralStatus.REWARDED)
    referral = rewarded.select_related("referrer", "referee").first()
    if referral is None:
        return
    key = f"{referral.pk}:{referral.reversals}" if referral.reversals else referral.pk
    referrer, referee = referral.referrer, referral.referee
    if referral.referrer_points:
        email_send_once(
            user=referrer,
            template="referral_rewarded_referrer",
            key=key,
            token=token,
            context={
                **_rewarded_context(referral, member=referrer, friend=referee),
                "points": referral.referrer_points,
            },
        )
    if referral.referee_points:
        email_send_once(
            user=referee,
            template="referral_rewarded_referee",
            key=key,
            token=token,
            context={
                **_rewarded_context(referral, member=referee, friend=referrer),
                "points": referral.referee_points,
            },
        )
