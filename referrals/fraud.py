"""Named fraud checks, run when the friend signs up and again when they qualify. A check
that fires does not block: it sends the referral to the review queue with its evidence
(shared addresses cause false positives, so a person decides)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from disposable_email_domains import blocklist
from django.utils import timezone

from accounts.managers import email_canonical, mailbox_hash
from accounts.models import ClosedMailbox, LoginTrace, User
from referrals.models import Referral

RECENT_SESSIONS = timedelta(days=30)


@dataclass(frozen=True)
class Flag:
    rule: str
    evidence: str


def self_referral(referral: Referral, limit: int) -> Flag | None:
    if referral.referee.email_canonical == referral.referrer.email_canonical:
        return Flag("self_referral", f"both addresses are {referral.referee.email_canonical}")
    return None


def existing_member(referral: Referral, limit: int) -> Flag | None:
    others = User.objects.filter(email_canonical=email_canonical(referral.referee.email))
    twin = others.exclude(pk__in=[referral.referee_id, referral.referrer_id]).first()
    if twin is not None:
        return Flag("existing_member", f"the address is the same mailbox as member #{twin.pk}")
    if ClosedMailbox.objects.filter(mailbox_hash=mailbox_hash(referral.referee.email)).exists():
        return Flag("existing_member", "the mailbox belonged to a member who closed their account")
    return None


def disposable_email(referral: Referral, limit: int) -> Flag | None:
    domain = referral.referee.email.rsplit("@", 1)[-1].lower()
    parts = domain.split(".")
    candidates = {".".join(parts[i:]) for i in range(len(parts) - 1)}
    if hit := candidates & blocklist:
        return Flag("disposable_email", f"{sorted(hit)[0]} is a disposable email domain")
    return None


def same_network(referral: Referral, limit: int) -> Flag | None:
    if not referral.signup_ip_hash:
        return None
    shared = LoginTrace.objects.filter(
        user_id=referral.referrer_id,
        ip_hash=referral.signup_ip_hash,
        created_at__gte=timezone.now() - RECENT_SESSIONS,
    ).exists()
    if shared:
        return Flag("same_network", "signed up from an address the referrer used in 30 days")
    return None


def signup_velocity(referral: Referral, limit: int) -> Flag | None:
    since = timezone.now() - timedelta(hours=1)
    recent = Referral.objects.filter(code_id=referral.code_id, created_at__gte=since).count()
    if recent > limit:
        return Flag("signup_velocity", f"{recent} sign-ups on this code in the last hour")
    return None


RULES: tuple[Callable[[Referral, int], Flag | None], ...] = (
    self_referral,
    existing_member,
    disposable_email,
    same_network,
    signup_velocity,
)


def fraud_flags(*, referral: Referral, velocity_limit: int) -> list[dict[str, str]]:
    """Every rule that fires for ``referral``, as ``{"rule", "evidence"}``."""
    flags = (rule(referral, velocity_limit) for rule in RULES)
    return [asdict(flag) for flag in flags if flag is not None]
