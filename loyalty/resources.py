"""CSV export columns of members and ledger entries (django-import-export resources)."""

from __future__ import annotations

from import_export import fields, resources, widgets

from loyalty.models import Account, Entry


class MemberResource(resources.ModelResource):
    member_id = fields.Field(attribute="member_id", column_name="member_id")
    email = fields.Field(attribute="member__email", column_name="email")
    first_name = fields.Field(attribute="member__first_name", column_name="first_name")
    last_name = fields.Field(attribute="member__last_name", column_name="last_name")
    language = fields.Field(attribute="member__language", column_name="language")
    marketing_consent = fields.Field(
        attribute="member__marketing_consent",
        column_name="marketing_consent",
        widget=widgets.BooleanWidget(),
    )
    date_joined = fields.Field(attribute="member__date_joined", column_name="date_joined")
    tier = fields.Field(attribute="tier__name", column_name="tier")
    segment = fields.Field(column_name="segment")

    class Meta:
        model = Account
        fields = (
            "member_id",
            "email",
            "first_name",
            "last_name",
            "language",
            "marketing_consent",
            "date_joined",
            "balance",
            "pending",
            "lifetime_earned",
            "qualifying_points",
            "tier",
            "segment",
        )
        export_order = fields

    def dehydrate_segment(self, account: Account) -> str:
        segment = getattr(account, "segment", None)
        return segment.label if segment else ""


class EntryResource(resources.ModelResource):
    member_email = fields.Field(attribute="account__member__email", column_name="member_email")
    recorded_by = fields.Field(attribute="created_by__email", column_name="recorded_by")

    class Meta:
        model = Entry
        fields = (
            "id",
            "occurred_at",
            "member_email",
            "kind",
            "points",
            "pending_points",
            "qualifying_points",
            "lot",
            "related_entry",
            "source",
            "note",
            "idempotency_key",
            "created_at",
            "recorded_by",
        )
        export_order = fields
