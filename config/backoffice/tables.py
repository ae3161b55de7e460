"""The analytics report as tables (shown on the page and downloadable as CSV) and as the
data of its charts. Only shapes already-aggregated rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.backoffice.report import Report
from loyalty.models import CampaignKind

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    headers: list[str]
    rows: list[list[Any]]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.headers)
        writer.writerows(self.rows)
        return out.getvalue()


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _summary(report: Report) -> Table:
    t, debt = report.totals, report.liability
    rows = [
        [_("Members"), report.members],
        [_("New members"), report.new_members],
        [_("Active members"), report.active],
        [_("Points issued"), t["issued"]],
        [_("Points redeemed"), t["redeemed"]],
        [_("Points expired"), t["expired"]],
        [_("Points reversed (refunds)"), t["reversed"]],
        [_("Points taken back by staff"), t["taken_back"]],
        [_("Redemption rate"), _percent(report.redemption_rate)],
        [_("Outstanding points (available)"), debt.available],
        [_("Outstanding points (pending)"), debt.pending],
        [_("Outstanding liability (%(currency)s)") % {"currency": debt.currency}, debt.money],
    ]
    return Table("summary", _("Summary"), [_("Figure"), _("Value")], rows)


def _monthly(report: Report) -> Table:
    headers = [_("Month"), _("New members"), _("Active members"), _("Issued"), _("Redeemed")]
    headers += [_("Expired"), _("Reversed"), _("Taken back")]
    keys = ("new_members", "active", "issued", "redeemed", "expired", "reversed", "taken_back")
    rows = [[row["month"].isoformat()[:7], *(row[k] for k in keys)] for row in report.monthly]
    return Table("monthly", _("Per month"), headers, rows)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _funnel(report: Report) -> Table:
    f = report.funnel
    rows = [
        [_("Link clicks"), f.clicks],
        [_("Sign-ups"), f.signups],
        [_("Qualified"), f.qualified],
        [_("Rewarded"), f.rewarded],
        [_("Invites sent"), f.invites],
        [_("Sign-ups from invites"), f.invite_signups],
        [_("Conversion (clicks to rewarded)"), _percent(f.conversion)],
        [_("Link visitors (not from an invite)"), f.link_visitors],
        [_("Invitations (invites sent + link visitors)"), f.invitations],
        [_("Invitations per member"), f"{f.invitations_per_member:.3f}"],
        [_("Sign-ups per invitation"), _ratio(f.invitation_conversion)],
        [_("K-factor"), f"{f.k_factor:.3f}"],
    ]
    return Table("funnel", _("Referral funnel"), [_("Step"), _("Count")], rows)


def _referrers(report: Report) -> Table:
    headers = [_("Member"), _("Sign-ups"), _("Qualified"), _("Rewarded"), _("Points")]
    keys = ("email", "signups", "qualified", "rewarded", "points")
    rows = [[row[k] for k in keys] for row in report.referrers]
    return Table("referrers", _("Top referrers"), headers, rows)


def _campaigns(report: Report) -> Table:
    headers = [_("Campaign"), _("Kind"), _("Starts"), _("Ends"), _("Bonus points")]
    headers += [_("Members reached"), _("Purchases during"), _("Sales during")]
    headers += [_("Purchases before"), _("Sales before"), _("Sales change")]
    rows = [
        [
            row["name"],
            CampaignKind(row["kind"]).label,
            date_format(row["starts_at"], "SHORT_DATE_FORMAT"),
            date_format(row["ends_at"], "SHORT_DATE_FORMAT"),
            *(row[k] for k in ("bonus_awarded", "members_reached", "purchases_during")),
            _money(row["sales_during"]),
            row["purchases_before"],
            _money(row["sales_before"]),
            _percent(row["change"]),
        ]
        for row in report.campaigns
    ]
    return Table("campaigns", _("Campaign performance"), headers, rows)


def _tiers(report: Report) -> Table:
    rows = [[row["tier"] or _("No tier"), row["members"]] for row in report.tiers]
    rows += [
        [_("Segment: %(name)s") % {"name": r["segment"]}, r["members"]] for r in report.segments
    ]
    return Table("members", _("Tiers and segments"), [_("Group"), _("Members")], rows)


def report_tables(report: Report) -> dict[str, Table]:
    builders = (_summary, _monthly, _funnel, _referrers, _campaigns, _tiers)
    tables = [build(report) for build in builders]
    return {table.slug: table for table in tables}


def report_charts(report: Report) -> dict[str, Any]:
    """Data for the page's Chart.js charts (labels are already translated)."""
    months = [row["month"].isoformat()[:7] for row in report.monthly]
    f = report.funnel

    def series(key: str) -> list[int]:
        return [row[key] for row in report.monthly]

    return {
        "months": months,
        "points": {
            "labels": [_("Issued"), _("Redeemed"), _("Expired")],
            "series": [series("issued"), series("redeemed"), series("expired")],
        },
        "members": {
            "labels": [_("New members"), _("Active members")],
            "series": [series("new_members"), series("active")],
        },
        "funnel": {
            "labels": [_("Link clicks"), _("Sign-ups"), _("Qualified"), _("Rewarded")],
            "values": [f.clicks, f.signups, f.qualified, f.rewarded],
        },
        "tiers": {
            "labels": [row["tier"] or _("No tier") for row in report.tiers],
            "values": [row["members"] for row in report.tiers],
        },
    }
