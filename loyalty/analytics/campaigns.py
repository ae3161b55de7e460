"""Campaign performance, one SQL statement: for every campaign that ran in the period,
the bonus points it gave, the members it reached (its participations), and purchases
during the campaign (up to now, if it still runs) against the same length just before."""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least

from loyalty.models import Campaign, CampaignParticipation, CampaignStatus, Event, EventType


def _participations(aggregate: Sum | Count) -> Coalesce:
    rows = (
        CampaignParticipation.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(value=aggregate)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def _purchases(aggregate: Sum | Count, start: str, end: str, output) -> Coalesce:
    rows = (
        Event.objects.filter(
            type=EventType.PURCHASE,
            occurred_at__gte=OuterRef(start),
            occurred_at__lt=OuterRef(end),
        )
        .order_by()
        .values("type")
        .annotate(value=aggregate)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(0, output_field=output))


def campaign_performance(*, start: datetime, end: datetime, now: datetime) -> QuerySet:
    """Rows of ``name, kind, starts_at, ends_at, bonus_awarded, members_reached,
    purchases_during, sales_during, purchases_before, sales_before``."""
    money = DecimalField(max_digits=14, decimal_places=2)
    during_end = Least(F("ends_at"), Value(now, output_field=DateTimeField()))
    length = ExpressionWrapper(during_end - F("starts_at"), output_field=DurationField())
    before_start = ExpressionWrapper(F("starts_at") - length, output_field=DateTimeField())
    ran = Campaign.objects.exclude(status=CampaignStatus.DRAFT).filter(
        starts_at__lt=min(end, now), ends_at__gt=start
    )
    return (
        ran.annotate(during_end=during_end, before_start=before_start)
        .annotate(
            bonus_awarded=_participations(Sum("points")),
            members_reached=_participations(Count("id")),
            purchases_during=_purchases(Count("*"), "starts_at", "during_end", IntegerField()),
            sales_during=_purchases(Sum("amount"), "starts_at", "during_end", money),
            purchases_before=_purchases(Count("*"), "before_start", "starts_at", IntegerField()),
            sales_before=_purchases(Sum("amount"), "before_start", "starts_at", money),
        )
        .order_by("-starts_at", "pk")
        .values(
            "name",
            "kind",
            "starts_at",
            "ends_at",
            "bonus_awarded",
            "members_reached",
            "purchases_during",
            "sales_during",
            "purchases_before",
            "sales_before",
        )
    )
