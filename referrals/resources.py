"""CSV export columns of referrals (django-import-export resource)."""

from __future__ import annotations

from import_export import fields, resources

from referrals.models import Referral


class ReferralResource(resources.ModelResource):
    referrer_email = fields.Field(attribute="referrer__email", column_name="referrer_email")
    referee_email = fields.Field(attribute="referee__email", column_name="referee_email")
    code_text = fields.Field(attribute="code__code", column_name="code")
    checks = fields.Field(column_name="fraud_checks")

    class Meta:
        model = Referral
        fields = (
            "id",
            "created_at",
            "referrer_email",
            "referee_email",
            "code_text",
            "source",
            "status",
            "checks",
            "qualified_at",
            "rewarded_at",
            "reversed_at",
            "referrer_points",
            "referee_points",
        )
        export_order = fields

    def dehydrate_checks(self, referral: Referral) -> str:
        return " ".join(flag["rule"] for flag in referral.flags)
