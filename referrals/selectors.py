"""Reads for the portal, the API and analytics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Q, Sum
from django.urls import reverse

from accounts.emails import absolute_url
from accounts.models import User
from referrals.models import Invite, Referral, ReferralClick, ReferralCode, ReferralStatus


def referral_link(*, code: ReferralCode, invite_id: int | None = None) -> str:
    link = absolute_url(reverse("referral_landing", args=[code.code]))
    return f"{link}?i={invite_id}" if invite_id else link


def mask_email(email: str) -> str:
    """``anna.smith@example.com`` → ``a•••h@example.com``: recognisable, not readable."""
    local, _at, domain = email.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}•••@{domain}"
    return f"{local[0]}•••{local[-1]}@{domain}"


@dataclass(frozen=True)
class MemberReferralStats:
    clicks: int
    signups: int
    qualified: int
    rewarded: int
    points: int
    invites: int
    in_review: int = 0


def member_referral_stats(*, member: User) -> MemberReferralStats:
    """The member's own funnel. "Qualified" means cleared: held in review (even with the
    qualifying purchase made) counts as in review until staff approve it."""
    clicks = ReferralClick.objects.filter(code__member=member).count()
    cleared = [ReferralStatus.QUALIFIED, ReferralStatus.REWARDED]
    totals = Referral.objects.filter(referrer=member).aggregate(
        signups=Count("id"),
        qualified=Count("id", filter=Q(qualified_at__isnull=False, status__in=cleared)),
        rewarded=Count("id", filter=Q(status=ReferralStatus.REWARDED)),
        in_review=Count("id", filter=Q(status=ReferralStatus.REVIEW)),
        points=Sum("referrer_points"),
    )
    invites = Invite.objects.filter(referrer=member).count()
    return MemberReferralStats(
        clicks,
        totals["signups"],
        totals["qualified"],
        totals["rewarded"],
        totals["points"] or 0,
        invites,
        totals["in_review"],
    )


def member_referrals(*, member: User) -> list[dict[str, object]]:
    """The member's referrals with status, newest first; friends' emails masked."""
    rows = (
        Referral.objects.filter(referrer=member).select_related("referee").order_by("-created_at")
    )
    return [
        {
            "email": mask_email(r.referee.email),
            "status": r.status,
            "status_label": r.get_status_display(),
            "created_at": r.created_at,
            "points": r.referrer_points,
        }
        for r in rows[:200]
    ]


@dataclass(frozen=True)
class Funnel:
    clicks: int
    signups: int
    qualified: int
    rewarded: int
    invites: int  # invite emails actually sent (not those to existing members)
    invite_signups: int
    referrers: int
    members: int
    link_visitors: int = 0  # distinct visitors of referral links not from an invite email

    @property
    def conversion(self) -> float:
        """Share of clicks that became a rewarded referral."""
        return self.rewarded / self.clicks if self.clicks else 0.0

    @property
    def invitations(self) -> int:
        """Invite emails sent + people who opened a shared link (not from an invite email)."""
        return self.invites + self.link_visitors

    @property
    def invitations_per_member(self) -> float:
        return self.invitations / self.members if self.members else 0.0

    @property
    def invitation_conversion(self) -> float | None:
        """Referred sign-ups (link, code, invite) per invitation; None without invitations."""
        return self.signups / self.invitations if self.invitations else None

    @property
    def k_factor(self) -> float:
        """Invitations per member × their conversion = referred sign-ups per member (the
        product also holds for sign-ups with a typed code, which no invitation counted)."""
        return self.signups / self.members if self.members else 0.0


def _link_visitors(window: Q) -> int:
    """Distinct (code, address fingerprint) pairs among link clicks not from an invite."""
    clicks = ReferralClick.objects.filter(window, invite__isnull=True)
    return clicks.values("code_id", "ip_hash").distinct().count()


def program_funnel(*, start: datetime | None = None, end: datetime | None = None) -> Funnel:
    """Program-wide: clicks → sign-ups → qualified → rewarded, and the K-factor."""
    window = Q()
    if start:
        window &= Q(created_at__gte=start)
    if end:
        window &= Q(created_at__lt=end)
    referrals = Referral.objects.filter(window).aggregate(
        signups=Count("id"),
        qualified=Count("id", filter=Q(qualified_at__isnull=False)),
        rewarded=Count("id", filter=Q(status=ReferralStatus.REWARDED)),
        from_invites=Count("id", filter=Q(invite__isnull=False)),
    )
    invites = Invite.objects.filter(window, sent_at__isnull=False).aggregate(
        n=Count("id"), who=Count("referrer", distinct=True)
    )
    return Funnel(
        clicks=ReferralClick.objects.filter(window).count(),
        signups=referrals["signups"],
        qualified=referrals["qualified"],
        rewarded=referrals["rewarded"],
        invites=invites["n"],
        invite_signups=referrals["from_invites"],
        referrers=invites["who"],
        members=User.objects.filter(is_active=True, is_staff=False).count(),
        link_visitors=_link_visitors(window),
    )


def referral_code_of(*, member: User) -> ReferralCode | None:
    return ReferralCode.objects.filter(member=member).first()


def referral_waiting(*, referee_id: int) -> bool:
    """Does this member have a referral that a purchase could still qualify? Asked after
    every purchase, so it is one indexed look-up."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM referrals_referral WHERE referee_id = %s AND status IN (%s, %s, %s)",
            [referee_id, ReferralStatus.PENDING, ReferralStatus.REVIEW, ReferralStatus.REVERSED],
        )
        return cursor.fetchone() is not None


def referrals_waiting_among(*, referee_ids: set[int]) -> set[int]:
    """Which of these members have a referral a purchase could still qualify (one query for
    a whole chunk of imported purchases)."""
    waiting = Referral.objects.filter(
        referee_id__any=referee_ids,
        status__in=[ReferralStatus.PENDING, ReferralStatus.REVIEW, ReferralStatus.REVERSED],
    )
    return set(waiting.values_list("referee_id", flat=True))


def referral_purchase_qualified(*, referee_id: int) -> bool:
    """Did one of this member's purchases qualify their referral (so a refund may undo it)?
    Asked after every refund: one look-up by the unique referee."""
    return Referral.objects.filter(referee_id=referee_id, qualifying_event__isnull=False).exists()
