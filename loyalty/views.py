from __future__ import annotations

from typing import Any

from django.conf import settings
from django.views.generic import TemplateView


class ProgramRulesMixin:
    """Puts the program's published numbers in the page, so text and behaviour agree."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["expiry_days"] = settings.POINTS_EXPIRY_DAYS
        context["return_window_days"] = settings.RETURN_WINDOW_DAYS
        return context


class HomeView(ProgramRulesMixin, TemplateView):
    """The public landing page: what the club is and how it works, in plain words."""

    template_name = "pages/home.html"


class TermsView(ProgramRulesMixin, TemplateView):
    template_name = "pages/terms.html"
