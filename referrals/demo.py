"""Demo referrals in every state a referral rests in, idempotent: rewarded (its points
pending for the return window when the program says so), pending, flagged for review at
sign-up, qualified but held for review by a check that fired at qualification, rejected
and expired. ``qualified`` itself is passed through on the way to ``rewarded`` in one
transaction, so a referral that qualified and waits is one held for review."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.managers import email_canonical
from accounts.models import LoginTrace, User
from accounts.net import ip_hash
from loyalty.services.ledger import account_open
from referrals.codes import referral_code_for
from referrals.models import Referral, ReferralClick, ReferralStatus
from referrals.services import (
    program_settings,
    referral_attach,
    referral_qualify,
    referral_reject,
    referrals_expire,
)


def _friend(email: str, first_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, None, first_name=first_name)
        user.email_canonical = email_canonical(email)
        user.save(update_fields=["email_canonical"])
        account_open(member=user)
    return user


def _refer(referrer: User, referee: User, network: str = "") -> Referral | None:
    code = referral_code_for(member=referrer)
    if not ReferralClick.objects.filter(code=code).exists():
        ReferralClick.objects.bulk_create(
            ReferralClick(code=code, ip_hash=f"demo{i}") for i in range(6)
        )
    return (
        referral_attach(referee=referee, code=code.code, source="link", ip_hash=network)
        or Referral.objects.filter(referee=referee).first()
    )


def _held_at_qualification(referrer: User) -> None:
    """The friend bought enough to qualify, but meanwhile the referrer signed in from the
    friend's network: ``same_network`` fires at qualification and holds the reward."""
    network = ip_hash("198.51.100.23")
    held = _refer(referrer, _friend("neda.friend@vafa-demo.example", "Neda"), network)
    if held and held.status == ReferralStatus.PENDING and held.qualified_at is None:
        LoginTrace.objects.get_or_create(user=referrer, ip_hash=network)
        referral_qualify(referee_id=held.referee_id, trigger="purchase", amount=Decimal("60"))


def seed() -> list[str]:
    program_settings()
    members = {
        u.email.split("@")[0]: u for u in User.objects.filter(email__endswith="@vafa.example")
    }
    if "sara" not in members:
        return []
    rewarded = _refer(members["sara"], members["omid"])
    if rewarded and rewarded.status == ReferralStatus.PENDING:
        referral_qualify(referee_id=rewarded.referee_id, trigger="purchase", amount=Decimal("45"))
    _refer(members["sara"], members["ivan"])  # stays pending
    _refer(members["layla"], _friend("layla.temp@mailinator.com", "Temp"))  # flagged: review
    _held_at_qualification(members["omid"])
    rejected = _refer(members["maya"], _friend("spam.friend@vafa-demo.example", "Spam"))
    staff = User.objects.filter(email="admin@vafa.example").first()
    if rejected and rejected.status == ReferralStatus.PENDING and staff:
        referral_reject(referral=rejected, staff=staff, reason="Duplicate household (demo)")
    late = _refer(members["maya"], _friend("late.friend@vafa-demo.example", "Late"))
    if late and late.status == ReferralStatus.PENDING:
        Referral.objects.filter(pk=late.pk).update(qualify_by=timezone.now() - timedelta(days=1))
        referrals_expire()
    return []
