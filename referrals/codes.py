"""Referral codes: one per member, short, readable, unique in any letter case."""

from __future__ import annotations

import secrets

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction

from referrals.models import ReferralCode

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 7


def referral_code_for(*, member: AbstractBaseUser) -> ReferralCode:
    """The member's code, created on first use (7 characters without look-alikes)."""
    if existing := ReferralCode.objects.filter(member=member).first():
        return existing
    for _attempt in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(member=member, code=code)
        except IntegrityError:
            if existing := ReferralCode.objects.filter(member=member).first():
                return existing
    raise RuntimeError("could not find a free referral code")


def referral_code_find(*, code: str) -> ReferralCode | None:
    """An active code of an active member, whatever the letter case typed."""
    code = code.strip()
    if not code or len(code) > 24:
        return None
    found = ReferralCode.objects.select_related("member").filter(code__iexact=code).first()
    if found is None or not found.is_active or not found.member.is_active:
        return None
    return found
