"""Admin of RFM segments (computed nightly, read-only) and the campaign simulator panel."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.admin.ledger import ReadOnlyAdmin
from loyalty.analytics.simulator import Simulation
from loyalty.models import Campaign, MemberSegment, SegmentLabel


@admin.register(MemberSegment)
class MemberSegmentAdmin(ReadOnlyAdmin):
    list_display = (
        "member",
        "label",
        "recency",
        "frequency",
        "monetary",
        "purchases",
        "spend",
        "last_purchase_at",
        "computed_at",
    )
    list_filter = ("label", "recency", "frequency", "monetary")
    list_select_related = ("account__member",)
    search_fields = ("account__member__email",)
    show_full_result_count = False
    readonly_fields = list_display

    @admin.display(description=_("member"), ordering="account__member__email")
    def member(self, obj: MemberSegment) -> str:
        return obj.account.member.email


class CampaignForm(forms.ModelForm):
    target_segments = forms.MultipleChoiceField(
        label=_("target segments"),
        choices=SegmentLabel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only members in these RFM segments earn the bonus. None: every member."),
    )

    class Meta:
        model = Campaign
        fields = (  # the admin's fieldsets choose what is shown
            "name",
            "description",
            "status",
            "starts_at",
            "ends_at",
            "kind",
            "multiplier",
            "bonus_points",
            "threshold_amount",
            "event_types",
            "tiers",
            "target_segments",
            "min_amount",
            "bonus_expires_on",
            "bonus_expiry_days",
            "budget_points",
            "member_cap_points",
            "stackable",
            "announce",
        )


def simulation_html(simulation: Simulation) -> str:
    """The simulator's answer as a short paragraph for the campaign page."""
    return format_html(
        "<p>{}</p><p>{}</p>",
        _(
            "Over the last comparable period ({start} – {end}), {events} events, "
            "{qualifying} of them qualifying, would have given {points} bonus points to "
            "{members} members: a liability of {money} {currency}."
        ).format(
            start=date_format(simulation.start, "SHORT_DATETIME_FORMAT"),
            end=date_format(simulation.end, "SHORT_DATETIME_FORMAT"),
            events=simulation.events,
            qualifying=simulation.qualifying,
            points=simulation.points,
            members=simulation.members,
            money=simulation.liability,
            currency=simulation.currency,
        ),
        _("Held back by the per-member cap: {cap} points; by the budget: {budget} points.").format(
            cap=simulation.held_by_member_cap, budget=simulation.held_by_budget
        ),
    )
