"""Every write of the referral program.

Lifecycle: pending (signed up) → qualified → rewarded, or review (a fraud check fired;
staff approve or reject), rejected, expired (did not qualify in time). ``qualified`` is
passed through in the transaction that pays both sides; a referral that qualified while a
check fired waits in review with ``qualified_at`` set, and points held for the return
window are pending in the ledger, not in the referral. Rewards go through the ledger with
keys derived from the referral, so a referral is never rewarded twice, whatever is
replayed.

A refund that takes the qualifying purchase under the minimum reverses both rewards
(reversed); the friend's next qualifying purchase within the window may qualify it again,
and that round has its own ledger keys, so it pays once too (docs/referrals.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.managers import email_normalize
from accounts.models import User
from config.outbox import task_enqueue
from loyalty.errors import LedgerError
from loyalty.lock_objects import accounts_lock
from loyalty.models import Entry, EntryKind, Event, EventType, Lot, LotState
from loyalty.services.ledger import account_for_member, credit_reverse, points_credit
from referrals.codes import referral_code_find, referral_code_for
from referrals.fraud import fraud_flags
from referrals.messages import invite_note_clean
from referrals.models import (
    OPEN_STATUSES,
    WAITING_STATUSES,
    Invite,
    ProgramSettings,
    Qualification,
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralStatus,
)
from referrals.selectors import referral_link
from referrals.tasks import invite_email_task, referral_rewarded_email_task


class ReferralRefused(LedgerError):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def program_settings() -> ProgramSettings:
    program, _created = ProgramSettings.objects.get_or_create(pk=1)
    return program


# --- clicks -------------------------------------------------------------------------------


def click_record(
    *, code: ReferralCode, ip_hash: str, invite_id: int | None = None
) -> ReferralClick:
    invite = (
        Invite.objects.filter(pk=invite_id, referrer=code.member_id).first() if invite_id else None
    )
    return ReferralClick.objects.create(code=code, ip_hash=ip_hash, invite=invite)


# --- sign-up and qualification ------------------------------------------------------------


@transaction.atomic
def referral_attach(
    *, referee: User, code: str, source: str, ip_hash: str = "", invite_id: int | None = None
) -> Referral | None:
    """Record that ``referee`` signed up through ``code``. Nothing happens for an unknown
    code, one's own code, or someone already referred (a person is referred once)."""
    found = referral_code_find(code=code)
    if (
        found is None
        or found.member_id == referee.pk
        or Referral.objects.filter(referee=referee).exists()
    ):
        return None
    program = program_settings()
    invite = (
        Invite.objects.filter(pk=invite_id, referrer=found.member_id).first() if invite_id else None
    )
    referral = Referral.objects.create(
        referrer_id=found.member_id,
        referee=referee,
        code=found,
        source=source,
        invite=invite,
        signup_ip_hash=ip_hash,
        qualify_by=timezone.now() + timedelta(days=program.qualify_within_days),
    )
    flags = fraud_flags(referral=referral, velocity_limit=program.signups_per_hour_limit)
    if flags:
        Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.REVIEW, flags=flags)
        referral.refresh_from_db()
    return referral


def _qualifies(program: ProgramSettings, trigger: str, amount: Decimal | None) -> bool:
    if program.qualification == Qualification.SIGNUP:
        return trigger == "email_verified"
    return trigger == "purchase" and amount is not None and amount >= program.min_purchase_amount


def _net_amount(*, event_id: int, referee_id: int) -> Decimal | None:
    """What is left of the friend's purchase after its refunds (read at the time of asking:
    a purchase refunded before its referral task ran qualifies for what is left)."""
    row = (
        Event.objects.filter(pk=event_id, type=EventType.PURCHASE, account__member_id=referee_id)
        .values_list("amount", "refunded_amount")
        .first()
    )
    return None if row is None else row[0] - row[1]


_QUALIFIED_FIELDS = ("qualified_at", "qualifying_event", "flags")


@transaction.atomic
def referral_qualify(
    *,
    referee_id: int,
    trigger: str,
    amount: Decimal | None = None,
    at: datetime | None = None,
    event_id: int | None = None,
) -> Referral | None:
    """React to something the friend did (verified their email, bought something; a
    purchase is named by ``event_id``). Safe to call again with the same or any later
    event: it acts at most once (once per round after a reversal)."""
    at = at or timezone.now()
    program = program_settings()
    referral = Referral.objects.select_for_update().filter(referee_id=referee_id).first()
    if referral is None or referral.status not in WAITING_STATUSES:
        return referral
    if event_id is not None:
        amount = _net_amount(event_id=event_id, referee_id=referee_id)
    if (
        referral.qualified_at
        or not _qualifies(program, trigger, amount)
        or at > referral.qualify_by
    ):
        return referral
    referral.qualified_at = timezone.now()
    referral.qualifying_event_id = event_id
    flags = _merge(
        referral.flags,
        fraud_flags(referral=referral, velocity_limit=program.signups_per_hour_limit),
    )
    referral.flags = flags
    if flags and not referral.approved:
        referral.status = ReferralStatus.REVIEW
        referral.save(update_fields=[*_QUALIFIED_FIELDS, "status"])
        return referral
    referral.status = ReferralStatus.QUALIFIED
    referral.save(update_fields=[*_QUALIFIED_FIELDS, "status"])
    return _reward(referral, program)


def _merge(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    seen = {flag["rule"] for flag in old}
    return old + [flag for flag in new if flag["rule"] not in seen]


def _referrer_capped(referral: Referral, program: ProgramSettings) -> bool:
    if program.monthly_cap is None:
        return False
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded = Referral.objects.filter(
        referrer_id=referral.referrer_id, rewarded_at__gte=month_start, referrer_points__gt=0
    ).count()
    return rewarded >= program.monthly_cap


SIDES = ("referrer", "referee")


def reward_key(*, referral: Referral, side: str) -> str:
    """The ledger key of one side's reward. A referral qualified again after a reversal
    pays under keys of its own round, so each round pays at most once."""
    key = f"referral:{referral.pk}:{side}"
    return f"{key}:{referral.reversals}" if referral.reversals else key


def _credit(referral: Referral, member_id: int, side: str, points: int, program) -> int:
    if points <= 0:
        return 0
    days = settings.RETURN_WINDOW_DAYS if program.rewards_pending else 0
    points_credit(
        account=account_for_member(member=User.objects.get(pk=member_id)),
        points=points,
        kind=EntryKind.REFERRAL,
        idempotency_key=reward_key(referral=referral, side=side),
        available_at=timezone.now() + timedelta(days=days) if days else None,
        source=f"referral:{referral.pk}",
        details={"referral_id": referral.pk, "side": side},
    )
    return points


def _reward(referral: Referral, program: ProgramSettings) -> Referral:
    """Pay both sides (the referrer within the monthly cap), in account-id order."""
    referrer_points = 0 if _referrer_capped(referral, program) else program.referrer_points
    sides = sorted(
        [
            (referral.referrer_id, "referrer", referrer_points),
            (referral.referee_id, "referee", program.referee_points),
        ]
    )
    paid = {
        side: _credit(referral, member, side, points, program) for member, side, points in sides
    }
    Referral.objects.filter(pk=referral.pk).update(
        status=ReferralStatus.REWARDED,
        rewarded_at=timezone.now(),
        referrer_points=paid["referrer"],
        referee_points=paid["referee"],
        reason="" if referrer_points or not program.referrer_points else _("monthly cap reached"),
    )
    task_enqueue(task=referral_rewarded_email_task, args=[referral.pk])
    referral.refresh_from_db()
    return referral


# --- refunds -------------------------------------------------------------------------------


@transaction.atomic
def referral_refund(*, refund_event_id: int) -> Referral | None:
    """React to a refund of the friend's purchase. If it is the purchase that qualified the
    referral and what is left of it is under the minimum, the rewards are reversed (pending
    ones always; released ones if the program claws back) and the referral is marked
    reversed, to be qualified again by a later purchase. Replaying it changes nothing."""
    refund = (
        Event.objects.filter(pk=refund_event_id, type=EventType.REFUND, refund_of__isnull=False)
        .values("refund_of_id", "account__member_id")
        .first()
    )
    if refund is None:
        return None
    # Only the referral row is locked here (a join would lock the friend's account too,
    # out of the id order the ledger locks accounts in).
    referee_id, purchase_id = refund["account__member_id"], refund["refund_of_id"]
    referral = Referral.objects.select_for_update().filter(referee_id=referee_id).first()
    if referral is None or referral.qualifying_event_id != purchase_id:
        return referral
    program = program_settings()
    left = _net_amount(event_id=purchase_id, referee_id=referee_id)
    if left is not None and left >= program.min_purchase_amount:
        return referral
    if referral.status == ReferralStatus.REVIEW:  # qualified while in review, never paid
        return _unqualify(referral)
    if referral.status != ReferralStatus.REWARDED:
        return referral
    return _reverse(referral, program, refund_event_id=refund_event_id)


def _unqualify(referral: Referral) -> Referral:
    referral.qualified_at, referral.qualifying_event = None, None
    referral.save(update_fields=["qualified_at", "qualifying_event"])
    return referral


def _reward_credits(referral: Referral) -> list[Entry]:
    """This round's reward entries, their accounts locked (pk order) and lots read after."""
    keys = [reward_key(referral=referral, side=side) for side in SIDES]
    credits = list(Entry.objects.filter(idempotency_key__in=keys).order_by("account_id"))
    accounts_lock(account_ids=[credit.account_id for credit in credits])
    return credits


def _released(credits: list[Entry]) -> bool:
    lots = Lot.objects.filter(pk__in=[credit.lot_id for credit in credits])
    return bool(credits) and not lots.filter(state=LotState.PENDING).exists()


def _reverse(referral: Referral, program: ProgramSettings, *, refund_event_id: int) -> Referral:
    credits = _reward_credits(referral)
    if _released(credits) and not program.refund_claws_back:
        reason = _("purchase refunded after the rewards were released; kept")
        Referral.objects.filter(pk=referral.pk).update(reason=reason)
        referral.refresh_from_db()
        return referral
    for credit in credits:
        credit_reverse(
            credit=credit,
            idempotency_key=f"{credit.idempotency_key}:reverse",
            source=f"referral:{referral.pk}",
            details={**credit.details, "refund_event_id": refund_event_id},
        )
    Referral.objects.filter(pk=referral.pk).update(
        status=ReferralStatus.REVERSED,
        reason=_("the qualifying purchase was refunded"),
        reversals=referral.reversals + 1,
        reversed_at=timezone.now(),
        qualified_at=None,
        qualifying_event=None,
        referrer_points=0,
        referee_points=0,
    )
    referral.refresh_from_db()
    return referral


# --- review --------------------------------------------------------------------------------


@transaction.atomic
def referral_approve(*, referral: Referral, staff: AbstractBaseUser) -> Referral:
    """Clear a flagged referral: reward it now if it already qualified, else let it wait."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.REVIEW:
        return referral
    referral.approved, referral.reviewed_by, referral.reviewed_at = True, staff, timezone.now()
    referral.status = ReferralStatus.QUALIFIED if referral.qualified_at else ReferralStatus.PENDING
    referral.save(update_fields=["approved", "reviewed_by", "reviewed_at", "status"])
    if referral.qualified_at:
        return _reward(referral, program_settings())
    return referral


@transaction.atomic
def referral_reject(*, referral: Referral, staff: AbstractBaseUser, reason: str) -> Referral:
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status not in OPEN_STATUSES:
        return referral
    Referral.objects.filter(pk=referral.pk).update(
        status=ReferralStatus.REJECTED,
        reason=reason[:200] or _("rejected in review"),
        reviewed_by=staff,
        reviewed_at=timezone.now(),
    )
    referral.refresh_from_db()
    return referral


def referrals_expire(*, as_of: datetime | None = None) -> int:
    """Referrals still pending after their qualification deadline expire (set-based)."""
    as_of = as_of or timezone.now()
    return Referral.objects.filter(status=ReferralStatus.PENDING, qualify_by__lte=as_of).update(
        status=ReferralStatus.EXPIRED, reason=_("did not qualify in time")
    )


# --- invites -------------------------------------------------------------------------------


@dataclass
class InviteReport:
    """What the member is told: how many addresses were accepted, nothing about who is
    already a member (that would make the form a membership oracle)."""

    accepted: list[str] = field(default_factory=list)


def _member_lock(*, member_id: int) -> None:
    """Hold the member's row until commit (``FOR NO KEY UPDATE``: rows that merely point
    at the member, such as their invites, can still be written by others)."""
    User.objects.select_for_update(no_key=True).filter(pk=member_id).values_list("pk").get()


@transaction.atomic
def invites_send(*, referrer: User, emails: list[str], message: str) -> InviteReport:
    """Invite friends by email, within the daily limit. Every distinct address counts
    toward the limit and is answered alike; existing members get no email (the send task
    skips them, so this request does the same work whoever the address belongs to). The
    personal note is kept only if the program allows one, shortened and without links."""
    program = program_settings()
    _member_lock(member_id=referrer.pk)  # concurrent submissions count one after another
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    used = Invite.objects.filter(referrer=referrer, created_at__gte=today).count()
    wanted = list(dict.fromkeys(email_normalize(e) for e in emails if e.strip()))
    if used + len(wanted) > program.invite_daily_limit:
        left = max(0, program.invite_daily_limit - used)
        raise ReferralRefused(
            _("You can invite %(limit)d friends a day; %(left)d invites are left today.")
            % {"limit": program.invite_daily_limit, "left": left},
            code="invite_limit",
        )
    code = referral_code_for(member=referrer)
    note = invite_note_clean(message=message, link=referral_link(code=code))
    note = note if program.personal_messages else ""
    invites = Invite.objects.bulk_create(
        [Invite(referrer=referrer, email=email, message=note) for email in wanted]
    )
    for invite in invites:
        task_enqueue(task=invite_email_task, args=[invite.pk])
    return InviteReport(accepted=wanted)
