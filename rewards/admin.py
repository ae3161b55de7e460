from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.admin.exports import CsvExportMixin
from loyalty.admin.ledger import ReadOnlyAdmin
from loyalty.errors import LedgerError
from rewards.models import Redemption, RedemptionStatus, Reward, Voucher
from rewards.resources import RedemptionResource
from rewards.services import redemption_cancel


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = (
        "thumbnail",
        "name",
        "kind",
        "points_cost",
        "stock",
        "min_tier",
        "per_member_limit",
        "is_active",
        "sort_order",
    )
    list_display_links = ("thumbnail", "name")
    list_editable = ("is_active", "sort_order")
    list_filter = ("kind", "is_active", "min_tier")
    list_select_related = ("min_tier",)
    search_fields = ("name", "description")
    readonly_fields = ("preview", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "description", "kind", "is_active", "sort_order")}),
        (_("Image"), {"fields": ("image", "static_image", "preview")}),
        (
            _("Price and value"),
            {"fields": ("points_cost", "money_value", "currency", "percent_off")},
        ),
        (_("Who and how many"), {"fields": ("min_tier", "per_member_limit", "stock")}),
        (_("When"), {"fields": ("active_from", "active_until", "voucher_valid_days")}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("image"))
    def thumbnail(self, obj: Reward) -> str:
        return format_html(
            '<img src="{}" alt="" style="height:32px;border-radius:4px">', obj.image_url
        )

    @admin.display(description=_("preview"))
    def preview(self, obj: Reward) -> str:
        return format_html(
            '<img src="{}" alt="" style="max-width:320px;border-radius:12px">', obj.image_url
        )


class VoucherInline(admin.StackedInline):
    model = Voucher
    fields = ("code", "status", "expires_at", "used_at", "used_order_id")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Redemption)
class RedemptionAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "member",
        "reward",
        "points",
        "status",
        "voucher_code",
        "voucher_status",
    )
    list_filter = ("status", "reward")
    list_select_related = ("account__member", "reward", "voucher")
    search_fields = ("account__member__email", "voucher__code", "idempotency_key")
    resource_classes = [RedemptionResource]
    export_select_related = ("account__member", "reward", "voucher")
    date_hierarchy = "created_at"
    inlines = (VoucherInline,)
    actions = ("cancel_selected",)
    readonly_fields = (
        "account",
        "reward",
        "points",
        "entry",
        "restore_entry",
        "idempotency_key",
        "status",
        "created_at",
        "cancelled_at",
        "cancelled_by",
        "cancel_reason",
    )

    @admin.display(description=_("member"), ordering="account__member__email")
    def member(self, obj: Redemption) -> str:
        return obj.account.member.email

    @admin.display(description=_("voucher"))
    def voucher_code(self, obj: Redemption) -> str:
        return obj.voucher.code

    @admin.display(description=_("voucher status"))
    def voucher_status(self, obj: Redemption) -> str:
        return obj.voucher.get_status_display()

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.has_perm("rewards.cancel_redemption"):
            actions.pop("cancel_selected", None)
        return actions

    @admin.action(description=_("Cancel and give the points back"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Redemption]) -> None:
        done = 0
        for redemption in queryset.filter(status=RedemptionStatus.COMPLETED):
            try:
                redemption_cancel(redemption=redemption, by=request.user, reason="staff")
                done += 1
            except LedgerError as error:
                self.message_user(request, f"{redemption}: {error.message}", messages.ERROR)
        self.message_user(
            request, _("%(n)d redemptions cancelled.") % {"n": done}, messages.SUCCESS
        )


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdmin):
    list_display = ("code", "status", "reward", "member", "expires_at", "used_at", "used_order_id")
    list_filter = ("status",)
    list_select_related = ("redemption__reward", "redemption__account__member")
    search_fields = ("code", "used_order_id", "redemption__account__member__email")
    readonly_fields = (
        "code",
        "redemption",
        "status",
        "expires_at",
        "used_at",
        "used_order_id",
        "created_at",
    )

    @admin.display(description=_("reward"))
    def reward(self, obj: Voucher) -> str:
        return obj.redemption.reward.name

    @admin.display(description=_("member"))
    def member(self, obj: Voucher) -> str:
        return obj.redemption.account.member.email
