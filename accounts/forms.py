from __future__ import annotations

from allauth.account.forms import SignupForm
from django import forms
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


def _terms_label() -> str:
    return format_html(
        '{} <a href="{}" target="_blank">{}</a>',
        _("I accept the"),
        reverse_lazy("terms"),
        _("program terms"),
    )


class MemberSignupForm(SignupForm):
    """allauth's email sign-up plus the member profile fields we ask for up front."""

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    marketing_consent = forms.BooleanField(
        label=_("Send me news about bonus campaigns and rewards (you can stop any time)"),
        required=False,
    )
    accept_terms = forms.BooleanField(label=lazy(_terms_label, str)(), required=True)

    field_order = ["email", "first_name", "last_name", "password1", "password2"]
