"""CSV export columns of redemptions (django-import-export resource)."""

from __future__ import annotations

from import_export import fields, resources

from rewards.models import Redemption


class RedemptionResource(resources.ModelResource):
    member_email = fields.Field(attribute="account__member__email", column_name="member_email")
    reward_name = fields.Field(attribute="reward__name", column_name="reward")
    voucher_code = fields.Field(attribute="voucher__code", column_name="voucher_code")
    voucher_status = fields.Field(attribute="voucher__status", column_name="voucher_status")

    class Meta:
        model = Redemption
        fields = (
            "id",
            "created_at",
            "member_email",
            "reward_name",
            "points",
            "status",
            "voucher_code",
            "voucher_status",
            "cancelled_at",
            "cancel_reason",
        )
        export_order = fields
