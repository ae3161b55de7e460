"""Admin of earning: rules, tiers, campaigns, API keys, events and CSV import."""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty.admin.ledger import ReadOnlyAdmin
from loyalty.admin.segments import CampaignForm, simulation_html
from loyalty.analytics.simulator import campaign_simulate
from loyalty.models import (
    ApiKey,
    Campaign,
    CampaignStatus,
    EarningRule,
    Event,
    Tier,
)
from loyalty.selectors import campaign_audience
from loyalty.services.apikeys import api_key_create, api_key_revoke
from loyalty.services.imports import events_import, rows_read
from loyalty.services.notifications import campaign_announce_now, campaign_announcing


@admin.register(EarningRule)
class EarningRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "event_type",
        "code",
        "points",
        "points_per_unit",
        "min_amount",
        "cap_count",
        "cap_period",
        "counts_toward_tier",
        "is_active",
    )
    list_filter = ("event_type", "is_active", "counts_toward_tier")
    search_fields = ("name", "code")
    fieldsets = (
        (None, {"fields": ("name", "event_type", "code", "is_active")}),
        (_("Points"), {"fields": ("points", "points_per_unit", "currency", "min_amount")}),
        (_("Limits"), {"fields": ("active_from", "active_until", "cap_count", "cap_period")}),
        (_("Tiers"), {"fields": ("counts_toward_tier",)}),
    )


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "threshold", "multiplier", "retention_days", "members")
    ordering = ("rank",)

    @admin.display(description=_("members"))
    def members(self, obj: Tier) -> int:
        return obj.member_count

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tier]:
        return super().get_queryset(request).annotate(member_count=Count("accounts"))


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "status", "kind", "starts_at", "ends_at", "budget", "stackable")
    list_filter = ("status", "kind", "stackable")
    search_fields = ("name",)
    date_hierarchy = "starts_at"
    filter_horizontal = ("tiers",)
    readonly_fields = ("simulation", "audience", "budget_used", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "description", "status", "starts_at", "ends_at")}),
        (_("Bonus"), {"fields": ("kind", "multiplier", "bonus_points", "threshold_amount")}),
        (
            _("Who and what qualifies"),
            {"fields": ("event_types", "tiers", "target_segments", "min_amount")},
        ),
        (_("Bonus points expiry"), {"fields": ("bonus_expires_on", "bonus_expiry_days")}),
        (
            _("Limits"),
            {"fields": ("budget_points", "budget_used", "member_cap_points", "stackable")},
        ),
        (_("Announcement"), {"fields": ("announce", "audience")}),
        (_("Simulation"), {"fields": ("simulation",)}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("what it would have given"))
    def simulation(self, obj: Campaign) -> str:
        """Before activation: the campaign replayed over the last period of its length."""
        if obj.pk is None or obj.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            return _("Shown for draft and scheduled campaigns once saved.")
        return simulation_html(campaign_simulate(campaign=obj))

    actions = ("announce_now",)

    @admin.action(description=_("Announce the selected campaigns now"), permissions=["change"])
    def announce_now(
        self, request: HttpRequest, queryset: QuerySet[Campaign]
    ) -> TemplateResponse | None:
        """A confirmation page with each campaign's audience first; then the announcement."""
        if request.POST.get("confirm") != "yes":
            rows = [(campaign, self._now_audience(campaign)) for campaign in queryset]
            context = {
                **self.admin_site.each_context(request),
                "title": _("Announce the selected campaigns now"),
                "opts": self.model._meta,
                "rows": rows,
                "queryset": queryset,
            }
            return TemplateResponse(request, "admin/loyalty/campaign/announce.html", context)
        logged = sum(campaign_announce_now(campaign=campaign) for campaign in queryset)
        message = ngettext(
            "Announcement queued for %(count)d member.",
            "Announcement queued for %(count)d members.",
            logged,
        )
        self.message_user(request, message % {"count": logged}, messages.SUCCESS)
        return None

    def _now_audience(self, campaign: Campaign) -> str:
        if campaign_announcing(campaign, at=timezone.now()):
            return self.audience(campaign)
        return _(
            "Not announced now: only active campaigns within their dates that announce by "
            "email are."
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # the tiers are saved here
        campaign = form.instance
        if campaign.announce and campaign.announced_at is None:
            self.message_user(request, self.audience(campaign), messages.INFO)

    @admin.display(description=_("audience"))
    def audience(self, obj: Campaign) -> str:
        """How many members the announcement email reaches (the count the job would log)."""
        if obj.pk is None:
            return _("Shown once the campaign is saved.")
        if not obj.announce:
            return _("Not announced by email.")
        if obj.status in (CampaignStatus.PAUSED, CampaignStatus.ENDED):
            return _("Not announced while paused or ended.")
        count = campaign_audience(campaign=obj).count()
        return ngettext(
            "This announcement will reach %(count)d member.",
            "This announcement will reach %(count)d members.",
            count,
        ) % {"count": count}

    @admin.display(description=_("budget used"))
    def budget(self, obj: Campaign) -> str:
        if obj.budget_points is None:
            return f"{obj.budget_used} / ∞"
        return f"{obj.budget_used} / {obj.budget_points}"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix")
    fields = ("name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            ApiKey.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        api_key, raw = api_key_create(name=obj.name, created_by=request.user)
        obj.pk, obj.prefix = api_key.pk, api_key.prefix
        self.message_user(
            request,
            format_html(_("Copy the key now, it is not shown again: <code>{}</code>"), raw),
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, _("Keys revoked."), messages.SUCCESS)


class ImportEventsForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: order_id, member_email (or member_id), amount, currency, and optionally "
            "occurred_at (ISO date-time) and idempotency_key. Orders already recorded are skipped."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is too large for the browser; use manage.py import_events.")
            )
        return upload


MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    change_list_template = "admin/loyalty/event/change_list.html"

    list_display = (
        "created_at",
        "type",
        "member",
        "order_id",
        "amount",
        "currency",
        "points_awarded",
    )
    list_filter = ("type",)
    list_select_related = ("account__member",)
    search_fields = ("idempotency_key", "order_id", "account__member__email")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = (
        "idempotency_key",
        "api_key",
        "type",
        "account",
        "rule",
        "amount",
        "currency",
        "order_id",
        "refund_of",
        "refunded_amount",
        "occurred_at",
        "metadata",
        "points_awarded",
        "response",
        "created_at",
    )

    @admin.display(description=_("member"), ordering="account__member__email")
    def member(self, obj: Event) -> str:
        return obj.account.member.email

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="loyalty_event_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("loyalty.import_events"):
            raise PermissionDenied
        form = ImportEventsForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            text = io.TextIOWrapper(form.cleaned_data["file"], encoding="utf-8-sig", newline="")
            report = events_import(rows=rows_read(text))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "title": _("Import purchases"),
        }
        return TemplateResponse(request, "admin/loyalty/event/import.html", context)
