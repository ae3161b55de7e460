"""Admin of the ledger: read-only history, the account page, staff adjustments."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty.admin.exports import CsvExportMixin
from loyalty.errors import LedgerError
from loyalty.models import (
    Account,
    Allocation,
    Entry,
    Lot,
    LotState,
)
from loyalty.resources import EntryResource, MemberResource
from loyalty.services.ledger import points_adjust
from loyalty.timing import last_valid_day


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is history: staff may look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to add points, negative to take points away."),
        min_value=-10_000_000,
        max_value=10_000_000,
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def clean_points(self) -> int:
        if self.cleaned_data["points"] == 0:
            raise forms.ValidationError(_("An adjustment must be a non-zero number of points."))
        return self.cleaned_data["points"]


def _lot_rows(account: Account) -> str:
    lots = account.lots.filter(state__in=[LotState.PENDING, LotState.AVAILABLE], remaining__gt=0)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                lot.pk,
                lot.get_kind_display(),
                lot.remaining,
                lot.points,
                lot.get_state_display(),
                last_valid_day(lot.expires_at),
            )
            for lot in lots.order_by("expires_at", "id")[:50]
        ),
    )
    return _table((_("Lot"), _("Kind"), _("Remaining"), _("State"), _("Valid through")), rows)


def _entry_rows(account: Account) -> str:
    entries = account.entries.order_by("-occurred_at", "-id")[:20]
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{:+d}</td><td>{:+d}</td><td>{}</td></tr>",
        (
            (
                e.occurred_at.strftime("%Y-%m-%d %H:%M"),
                e.get_kind_display(),
                e.points,
                e.pending_points,
                e.note or e.source,
            )
            for e in entries
        ),
    )
    headers = (_("When"), _("Kind"), _("Available"), _("Pending"), _("Source / note"))
    return _table(headers, rows)


def _table(headers: tuple, rows: str) -> str:
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


@admin.register(Account)
class AccountAdmin(CsvExportMixin, admin.ModelAdmin):
    list_display = (
        "member",
        "balance",
        "pending",
        "lifetime_earned",
        "qualifying_points",
        "tier",
        "segment_label",
        "updated_at",
    )
    list_filter = ("tier", "segment__label")
    list_select_related = ("member", "tier", "segment")
    search_fields = ("member__email", "member__first_name", "member__last_name")
    raw_id_fields = ("member",)
    resource_classes = [MemberResource]
    export_select_related = ("member", "tier", "segment")
    readonly_fields = (
        "member",
        "member_page",
        "balance",
        "pending",
        "lifetime_earned",
        "qualifying_points",
        "open_lots",
        "recent_entries",
        "created_at",
        "updated_at",
    )
    change_form_template = "admin/loyalty/account/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("segment"), ordering="segment__label")
    def segment_label(self, obj: Account) -> str:
        segment = getattr(obj, "segment", None)
        return segment.get_label_display() if segment else "—"

    @admin.display(description=_("member page"))
    def member_page(self, obj: Account) -> str:
        url = reverse("member_360", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, _("Everything about this member"))

    @admin.display(description=_("Open lots (earliest expiry first)"))
    def open_lots(self, obj: Account) -> str:
        return _lot_rows(obj)

    @admin.display(description=_("Recent entries"))
    def recent_entries(self, obj: Account) -> str:
        url = reverse("admin:loyalty_entry_changelist") + f"?account__id__exact={obj.pk}"
        return format_html('{}<p><a href="{}">{}</a></p>', _entry_rows(obj), url, _("All entries"))

    def get_urls(self) -> list:
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [
            path("<int:pk>/adjust/", adjust, name="loyalty_account_adjust"),
            *super().get_urls(),
        ]

    def adjust_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("loyalty.adjust_points"):
            raise PermissionDenied
        account = get_object_or_404(Account.objects.select_related("member"), pk=pk)
        form = AdjustPointsForm(
            request.POST or None, initial={"idempotency_key": f"adjust:{uuid.uuid4()}"}
        )
        if request.method == "POST" and form.is_valid():
            try:
                points_adjust(account=account, staff_user=request.user, **form.cleaned_data)
            except LedgerError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, _("Points adjusted."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:loyalty_account_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "title": _("Adjust points"),
        }
        return TemplateResponse(request, "admin/loyalty/account/adjust.html", context)


class AllocationInline(admin.TabularInline):
    model = Allocation
    fk_name = "entry"
    fields = ("lot", "points")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Entry)
class EntryAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = (
        "occurred_at",
        "member",
        "kind",
        "points",
        "pending_points",
        "source",
        "created_by",
    )
    list_filter = ("kind",)
    list_select_related = ("account__member", "created_by")
    search_fields = ("idempotency_key", "source", "account__member__email")
    resource_classes = [EntryResource]
    export_select_related = ("account__member", "created_by")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    inlines = (AllocationInline,)
    readonly_fields = (
        "account",
        "kind",
        "points",
        "pending_points",
        "qualifying_points",
        "lot",
        "related_entry",
        "idempotency_key",
        "source",
        "details",
        "note",
        "occurred_at",
        "created_at",
        "created_by",
    )

    @admin.display(description=_("member"), ordering="account__member__email")
    def member(self, obj: Entry) -> str:
        return obj.account.member.email

    def get_queryset(self, request: HttpRequest) -> QuerySet[Entry]:
        return super().get_queryset(request).select_related("account__member", "created_by")


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "member",
        "kind",
        "points",
        "remaining",
        "state",
        "available_at",
        "expires_at",
    )
    list_filter = ("state", "kind")
    list_select_related = ("account__member",)
    search_fields = ("account__member__email",)
    show_full_result_count = False
    readonly_fields = (
        "account",
        "kind",
        "points",
        "remaining",
        "expired",
        "reversed",
        "owed",
        "state",
        "qualifying",
        "available_at",
        "expires_at",
        "created_at",
    )

    @admin.display(description=_("member"), ordering="account__member__email")
    def member(self, obj: Lot) -> str:
        return obj.account.member.email
