"""The sign-up form with an optional referral code (typed codes are rate-limited)."""

from __future__ import annotations

from allauth.core import context
from django import forms
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from accounts.forms import MemberSignupForm
from accounts.net import request_ip_hash
from referrals.codes import referral_code_find

WRONG_CODES_PER_HOUR = 10


class ReferralSignupForm(MemberSignupForm):
    referral_code = forms.CharField(
        label=_("Referral code (optional)"), max_length=24, required=False
    )

    field_order = [*MemberSignupForm.field_order, "referral_code"]

    def _limit_key(self) -> str:
        request = context.request  # allauth keeps the current request here
        return f"refcode-miss:{request_ip_hash(request)}" if request else "refcode-miss"

    def clean_referral_code(self) -> str:
        code = self.cleaned_data.get("referral_code", "").strip()
        if not code:
            return ""
        key = self._limit_key()
        if (cache.get(key) or 0) >= WRONG_CODES_PER_HOUR:
            raise forms.ValidationError(_("Too many wrong codes; try again in an hour."))
        if referral_code_find(code=code) is None:
            cache.add(key, 0, 3600)
            cache.incr(key)
            raise forms.ValidationError(_("This referral code does not exist."))
        return code
