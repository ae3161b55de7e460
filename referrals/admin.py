from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty.admin.exports import CsvExportMixin
from referrals.models import Invite, ProgramSettings, Referral, ReferralCode, ReferralStatus
from referrals.resources import ReferralResource
from referrals.services import referral_approve, referral_reject


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (
            _("Rewards"),
            {
                "fields": (
                    "referrer_points",
                    "referee_points",
                    "rewards_pending",
                    "refund_claws_back",
                    "monthly_cap",
                )
            },
        ),
        (
            _("Qualification"),
            {"fields": ("qualification", "min_purchase_amount", "qualify_within_days")},
        ),
        (_("Attribution"), {"fields": ("attribution", "attribution_days")}),
        (
            _("Invites and fraud"),
            {
                "fields": (
                    "invite_daily_limit",
                    "signups_per_hour_limit",
                    "invite_message",
                    "personal_messages",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One row only, and only for staff allowed to add it (Marketing)."""
        allowed = super().has_add_permission(request)
        return allowed and not ProgramSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReferralCodeForm(forms.ModelForm):
    class Meta:
        model = ReferralCode
        fields = ("member", "code", "is_vanity", "is_active")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        taken = ReferralCode.objects.filter(code__iexact=code).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("This code is taken (codes ignore letter case)."))
        return code


@admin.register(ReferralCode)
class ReferralCodeAdmin(admin.ModelAdmin):
    form = ReferralCodeForm
    list_display = ("code", "member", "is_vanity", "is_active", "created_at")
    list_filter = ("is_vanity", "is_active")
    list_select_related = ("member",)
    search_fields = ("code", "member__email")
    raw_id_fields = ("member",)


@admin.register(Referral)
class ReferralAdmin(CsvExportMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "referrer",
        "referee",
        "source",
        "status",
        "fired_checks",
        "rewarded_at",
    )
    list_filter = ("status", "source")
    list_select_related = ("referrer", "referee")
    search_fields = ("referrer__email", "referee__email", "code__code")
    resource_classes = [ReferralResource]
    export_select_related = ("referrer", "referee", "code")
    date_hierarchy = "created_at"
    actions = ("approve", "reject")
    readonly_fields = (
        "referrer",
        "referee",
        "code",
        "source",
        "invite",
        "status",
        "evidence",
        "approved",
        "reason",
        "qualify_by",
        "created_at",
        "qualified_at",
        "qualifying_event",
        "rewarded_at",
        "reversed_at",
        "reversals",
        "referrer_points",
        "referee_points",
        "reviewed_by",
        "reviewed_at",
    )
    exclude = ("flags", "signup_ip_hash")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("checks"))
    def fired_checks(self, obj: Referral) -> str:
        return ", ".join(flag["rule"] for flag in obj.flags) or "—"

    @admin.display(description=_("fraud checks that fired"))
    def evidence(self, obj: Referral) -> str:
        rows = ((flag["rule"], flag["evidence"]) for flag in obj.flags)
        return format_html_join("", "<p><strong>{}</strong>: {}</p>", rows) or "—"

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.has_perm("referrals.review_referral"):
            actions.pop("approve", None)
            actions.pop("reject", None)
        return actions

    @admin.action(description=_("Approve (reward if qualified)"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        for referral in queryset.filter(status=ReferralStatus.REVIEW):
            referral_approve(referral=referral, staff=request.user)
        self.message_user(request, _("Approved."), messages.SUCCESS)

    @admin.action(description=_("Reject"))
    def reject(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        for referral in queryset:
            referral_reject(
                referral=referral, staff=request.user, reason=str(_("rejected in review"))
            )
        self.message_user(request, _("Rejected."), messages.SUCCESS)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("created_at", "referrer", "email", "sent_at")
    list_select_related = ("referrer",)
    search_fields = ("referrer__email", "email")
    date_hierarchy = "created_at"
    readonly_fields = ("referrer", "email", "message", "created_at", "sent_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
