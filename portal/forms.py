from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from config.input import digits_ascii
from loyalty.models import EntryKind


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = (
            "first_name",
            "last_name",
            "birthday",
            "phone",
            "language",
            "marketing_consent",
            "email_points_earned",
        )
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "marketing_consent": _("News about bonus campaigns and rewards. Stop any time."),
            "email_points_earned": _("An email each time a purchase earns you points."),
        }

    def clean_birthday(self) -> Any:
        birthday = self.cleaned_data.get("birthday")
        if birthday and birthday > timezone.localdate():
            raise forms.ValidationError(_("A birthday cannot be in the future."))
        return birthday

    def clean_phone(self) -> str:
        # Persian and Arabic-Indic digits are welcome and stored as ASCII; ² or ① are not.
        phone = digits_ascii(self.cleaned_data.get("phone", "").strip())
        if phone and not all(ch in "0123456789+ -()" for ch in phone):
            raise forms.ValidationError(_("Use digits, spaces and + - ( ) only."))
        return phone


class ActivityFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *list(EntryKind.choices)]
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type DELETE to confirm"),
        help_text=_("Your points, vouchers and referral link stop working. This cannot be undone."),
    )

    def clean_confirm(self) -> str:
        if self.cleaned_data["confirm"].strip().upper() != "DELETE":
            raise forms.ValidationError(_("Type DELETE to confirm."))
        return "DELETE"
