from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.views.generic import TemplateView

from loyalty.models import EventType, Tier
from loyalty.services.earning import purchase_points, rule_active


class ProgramRulesMixin:
    """Puts the program's published numbers in the page, so text and behaviour agree."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["expiry_days"] = settings.POINTS_EXPIRY_DAYS
        context["return_window_days"] = settings.RETURN_WINDOW_DAYS
        return context


class HomeView(ProgramRulesMixin, TemplateView):
    """The public landing page: what the club is and how it works, in plain words, with the
    program's real tiers and purchase rule."""

    template_name = "pages/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rule = rule_active(event_type=EventType.PURCHASE, at=timezone.now())
        context["tiers"] = list(Tier.objects.order_by("rank"))
        context["purchase_rule"] = rule
        context["example_points"] = purchase_points(rule=rule, amount=Decimal(50)) if rule else None
        return context


class TermsView(ProgramRulesMixin, TemplateView):
    template_name = "pages/terms.html"
